"""What evaluation costs: one 10,000-sample evaluation against training steps, in one process.

    python bench/eval_cost.py [discriminator=fc|cnn] [steps=500]

Times the default config's training step and `eval.n` evaluation on the same machine, then
projects the share of a default run (40,001 steps, an evaluation every `eval.every` steps and
after the last) that evaluation takes; and precision and recall, which read one fake-to-real
distance matrix, against the two passes of the paper's definition (`inside` twice). Needs the
real MNIST under $GAN_DATA_DIR.
"""

import sys
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from timing import paired_medians

from gan.core.networks import UniformNoise, generate
from gan.metrics.evaluator import Evaluator
from gan.metrics.manifold import inside, knn_radii, precision_recall
from gan.run.acceleration import configure_process
from gan.run.config import register_configs
from gan.run.data import DeviceBatcher
from gan.run.loop import TrainingSetup, build_evaluation, build_setup, eval_settings, train_settings

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


def seconds_per_step(setup: TrainingSetup, batch_size: int, steps: int) -> float:
    """Mean wall time of the training step (batch and noise included), after a warm-up."""
    batcher = DeviceBatcher(setup.images, batch_size)
    noise = UniformNoise(batch_size, setup.generator.noise_dim, setup.device)
    for _ in range(20):
        output = setup.adversarial(batcher.next(), noise.next())
    output.g_loss.item()  # the step is asynchronous on a GPU: wait before timing
    started = time.perf_counter()
    for _ in range(steps):
        output = setup.adversarial(batcher.next(), noise.next())
    output.g_loss.item()
    return (time.perf_counter() - started) / steps


def manifold_seconds(evaluator: Evaluator, fake: torch.Tensor,
                     rounds: int = 5) -> tuple[float, float]:
    """Seconds of precision and recall on features (n, D) as the evaluator computes them, and
    by the paper's two passes (`inside` twice), the real radii cached in both: the medians of
    `rounds` paired timings (`timing.paired_medians`), so a busy spell slows both alike."""
    real, radii = evaluator.manifold(len(fake))
    fake = fake[:len(real)]
    one, two = paired_medians(lambda: precision_recall(real, fake, real_radii=radii),
                              lambda: (inside(fake, real, radii),
                                       inside(real, fake, knn_radii(fake))),
                              1, rounds, fake.device)
    return one / 1e3, two / 1e3


def main(argv: list[str]) -> None:
    """Measure, then print the per-evaluation cost and the projected share of a default run."""
    options = dict(word.split("=", 1) for word in argv)
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("config", overrides=[
            f"discriminator={options.get('discriminator', 'fc')}", "dataset.download=false"])
    settings, evaluation_settings = train_settings(cfg), eval_settings(cfg)
    configure_process(settings.threads)  # as train.py's run does
    torch.manual_seed(0)
    setup = build_setup(cfg, torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    step_seconds = seconds_per_step(setup, settings.batch_size, int(options.get("steps", 500)))
    evaluation = build_evaluation(cfg, evaluation_settings, setup)
    setup_seconds = evaluation.seconds
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        evaluation.evaluator.score_generator(setup.generator, evaluation.z)
        timings.append(time.perf_counter() - started)
    once = min(timings)
    evals = len(range(0, settings.steps, evaluation_settings.every)) + (
        (settings.steps - 1) % evaluation_settings.every != 0)
    total_eval = setup_seconds + evals * once
    share = total_eval / (settings.steps * step_seconds + total_eval)
    print(f"device {setup.device}, {torch.get_num_threads()} threads, "
          f"discriminator={options.get('discriminator', 'fc')}")
    print(f"training step:                {step_seconds * 1e3:8.2f} ms")
    print(f"evaluation of {evaluation_settings.n} samples:  {once:8.3f} s "
          f"(= {once / step_seconds:.0f} training steps)")
    print(f"evaluation set-up (once):     {setup_seconds:8.3f} s (test-set statistics, real "
          "reference)")
    with torch.no_grad():
        _, fake = evaluation.evaluator.outputs(generate(setup.generator, evaluation.z))
    one, two = manifold_seconds(evaluation.evaluator, fake)
    print(f"precision and recall:         {one:8.3f} s (the paper's two passes: {two:.3f} s, "
          f"{two / one:.2f}x)")
    print(f"default run: {settings.steps} steps, {evals} evaluations (eval.every="
          f"{evaluation_settings.every}): evaluation is {share:.1%} of the run")


if __name__ == "__main__":
    main(sys.argv[1:])
