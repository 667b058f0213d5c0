"""K stacked runs reproduce K single runs: the same weights and losses (2 runs of the FC
set-ups for 10 steps in the fast tier; 3 runs for 200 steps, CNN included, in the slow one)."""

from collections.abc import Callable, Sequence

import pytest
import torch
from torch import nn

from gan.core.losses import BCELoss, WassersteinLoss
from gan.core.networks import CNNDiscriminator, FCDiscriminator, FCGenerator
from gan.core.objective import Objective
from gan.core.remedies import (
    EMA,
    R1,
    DiffAugmentLayer,
    FeatureMatching,
    GradientPenalty,
    HistoricalAveraging,
    Remedy,
    SpectralNorm,
)
from gan.core.stacking.step import RunRandom, stack, why_not_stacked
from gan.core.step import AdversarialStep, AlternatingStep, SimultaneousStep

# Batched and plain matrix products (and convolutions) round differently, and 200 Adam steps
# carry a rounding difference forward; measured: at most ~1e-6 on the weights on the machine
# kinds before 2026-12-01, and up to 4.8e-5 on a few of the generator's (8 of 12,544) behind the
# CNN on that day's (AMD EPYC, AVX2 convolution kernels). A stacked step that mixed up two runs'
# learning rates or data would be off by orders of magnitude more.
TOLERANCE = {"rtol": 1e-4, "atol": 1e-4}
B, K = 16, 3
Remedies = Sequence[Callable[[], Remedy]]


def fc() -> nn.Module:
    return FCDiscriminator(hidden_dim=16)


def cnn() -> nn.Module:
    return CNNDiscriminator(filters=4, hidden_dim=16)


def build(seed: int, make_d: Callable[[], nn.Module], remedies: Remedies,
          kind: type[AdversarialStep], loss: object | None = None) -> AdversarialStep:
    """Run `seed`'s step, each run with its own learning rates and betas."""
    torch.manual_seed(seed)
    generator, discriminator = FCGenerator(noise_dim=8, hidden_dim=16), make_d()
    made = [make() for make in remedies]
    for remedy in made:
        remedy.attach(generator, discriminator)
    return kind(generator, discriminator,
                torch.optim.Adam(generator.parameters(), lr=1e-4 * (seed + 1), betas=(0.5, 0.9)),
                torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5 + seed / 10,
                                                                            0.999)),
                Objective(loss or BCELoss(), made), made)


def data(seed: int, steps: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """A run's batches (steps, B, 1, 28, 28) and noise (steps, B, 8)."""
    generator = torch.Generator().manual_seed(100 + seed)
    return (torch.rand(steps, B, 1, 28, 28, generator=generator),
            torch.rand(steps, B, 8, generator=generator) * 2 - 1)


# Fast: both step orders and the remedies with state or draws of their own (EMA, the gradient
# penalty's weights), 2 FC runs for 10 steps. Slow: 3 runs for 200 steps, the CNN as well, where
# a rounding difference has time to grow (TOLERANCE).
FAST = [(fc, (), SimultaneousStep), (fc, (), AlternatingStep),
        (fc, (FeatureMatching, EMA), AlternatingStep), (fc, (GradientPenalty,), SimultaneousStep)]
SLOW = [(fc, (), SimultaneousStep), (fc, (), AlternatingStep),
        (cnn, (), SimultaneousStep), (cnn, (), AlternatingStep),
        (fc, (FeatureMatching, EMA), SimultaneousStep),
        (cnn, (FeatureMatching, EMA), AlternatingStep),
        (fc, (GradientPenalty,), SimultaneousStep), (cnn, (GradientPenalty,), AlternatingStep)]
CASES = ([pytest.param(*case, 2, 10) for case in FAST]
         + [pytest.param(*case, K, 200, marks=pytest.mark.slow) for case in SLOW])


@pytest.mark.parametrize(("make_d", "remedies", "kind", "runs_count", "steps"), CASES,
                         ids=lambda x: getattr(x, "__name__", None) or (
                             str(x) if isinstance(x, int)
                             else "+".join(r.__name__ for r in x) or "none"))
def test_stacked_runs_reproduce_single_runs(make_d: Callable[[], nn.Module], remedies: Remedies,
                                            kind: type[AdversarialStep], runs_count: int,
                                            steps: int) -> None:
    singles, outputs = [], []
    for k in range(runs_count):
        step = build(k, make_d, remedies, kind)  # then draws continue the seed's stream
        reals, zs = data(k, steps)
        for t in range(steps):
            output = step(reals[t], zs[t])
        singles.append(step)
        outputs.append(output)
    random = RunRandom(runs_count, torch.device("cpu"))
    runs = []
    for k in range(runs_count):
        runs.append(build(k, make_d, remedies, kind))
        random.capture(k)  # where run k's single run went on drawing
    stacked = stack(runs, random)
    runs_data = [data(k, steps) for k in range(runs_count)]
    for t in range(steps):
        output = stacked(torch.stack([reals[t] for reals, _ in runs_data]),
                         torch.stack([zs[t] for _, zs in runs_data]))  # (K, B, ...)
    for k in range(runs_count):
        for network in ("generator", "discriminator"):
            for mine, theirs in zip(getattr(runs[k], network).parameters(),
                                    getattr(singles[k], network).parameters(), strict=True):
                torch.testing.assert_close(mine, theirs, **TOLERANCE)
        torch.testing.assert_close(output.d_loss[k], outputs[k].d_loss, **TOLERANCE)
        torch.testing.assert_close(output.g_loss[k], outputs[k].g_loss, **TOLERANCE)
        for ema, single_ema in zip(runs[k].remedies, singles[k].remedies, strict=True):
            if isinstance(ema, EMA):  # each run's average follows its own weights
                for mine, theirs in zip(ema.sampler().parameters(),
                                        single_ema.sampler().parameters(), strict=True):
                    torch.testing.assert_close(mine, theirs, **TOLERANCE)


def test_each_run_has_its_own_penalty_weights() -> None:
    weights = [(1.0, 0.5), (10.0, 2.0)]  # (R1's gamma, feature matching's weight)
    runs_count = len(weights)

    def run(k: int) -> AdversarialStep:
        return build(k, fc, (lambda: R1(gamma=weights[k][0]),
                             lambda: FeatureMatching(weight=weights[k][1])), SimultaneousStep)
    singles = [run(k) for k in range(runs_count)]
    runs = [run(k) for k in range(runs_count)]
    stacked = stack(runs, RunRandom(runs_count, torch.device("cpu")))
    batches = [data(k, steps=5) for k in range(runs_count)]
    for t in range(5):
        single_outputs = [singles[k](batches[k][0][t], batches[k][1][t])
                          for k in range(runs_count)]
        output = stacked(torch.stack([b[0][t] for b in batches]),
                         torch.stack([b[1][t] for b in batches]))
    for k in range(runs_count):
        for name in ("r1", "feature_matching"):
            torch.testing.assert_close(output.terms[name][k], single_outputs[k].terms[name],
                                       **TOLERANCE)
    for k in range(runs_count):
        for mine, theirs in zip(runs[k].discriminator.parameters(),
                                singles[k].discriminator.parameters(), strict=True):
            torch.testing.assert_close(mine, theirs, **TOLERANCE)
    assert [r.gamma for r in (runs[0].remedies[0], stacked.objective.terms[0])] == [1.0, 1.0]


def test_a_diverged_run_leaves_the_others_untouched() -> None:
    runs = [build(k, fc, (), SimultaneousStep) for k in range(K)]
    random = RunRandom(K, torch.device("cpu"))
    stacked = stack(runs, random)
    reals = torch.rand(K, B, 1, 28, 28)
    reals[1] = float("nan")  # run 1's batch poisons run 1 alone
    z = torch.rand(K, B, 8)
    for _ in range(3):
        output = stacked(reals, z)
    assert torch.isnan(output.d_loss[1])
    assert torch.isfinite(output.d_loss[[0, 2]]).all()
    for k in (0, 2):
        assert all(torch.isfinite(p).all() for p in runs[k].discriminator.parameters())


def test_each_run_draws_its_own_penalty_weights() -> None:
    runs = [build(k, fc, (GradientPenalty,), SimultaneousStep) for k in range(2)]
    random = RunRandom(2, torch.device("cpu"))
    random.states = [(torch.manual_seed(seed).get_state(),) for seed in (5, 6)]
    drawn = stack(runs, random).draws(torch.rand(2, B, 1, 28, 28))["gradient_penalty_eps"]
    torch.manual_seed(5)
    torch.testing.assert_close(drawn[0], torch.rand(B, 1, 1, 1), rtol=0, atol=0)
    torch.manual_seed(6)
    torch.testing.assert_close(drawn[1], torch.rand(B, 1, 1, 1), rtol=0, atol=0)


@pytest.mark.parametrize(("remedy", "options", "reason"), [
    (None, {"batch_norm": True}, "BatchNorm"), (SpectralNorm, {}, "power iteration"),
    (HistoricalAveraging, {}, "running averages"),
    (None, {"augment": DiffAugmentLayer()}, "inside D")])
def test_what_cannot_stack_says_why(remedy: Callable[[], Remedy] | None,
                                    options: dict[str, object], reason: str) -> None:
    made = [] if remedy is None else [remedy()]
    torch.manual_seed(0)
    generator = FCGenerator(noise_dim=8, hidden_dim=16)
    discriminator = FCDiscriminator(hidden_dim=16, **options)
    for each in made:
        each.attach(generator, discriminator)
    step = SimultaneousStep(generator, discriminator,
                            torch.optim.Adam(generator.parameters()),
                            torch.optim.Adam(discriminator.parameters()),
                            Objective(WassersteinLoss(), made), made)
    assert reason in why_not_stacked(step)
    with pytest.raises(ValueError, match="cannot be stacked"):
        stack([step, step], RunRandom(2, torch.device("cpu")))


def test_every_loss_and_the_seed_networks_stack() -> None:
    assert why_not_stacked(build(0, cnn, (FeatureMatching, GradientPenalty, EMA),
                                 SimultaneousStep, WassersteinLoss())) is None
