"""The step cost of each named set-up of a study against no remedy, timed in pairs.

    python bench/setup_cost.py discriminator=fc [out=multirun/study/fc/step_cost.json]
                               [steps=20] [rounds=3] [threads=1] [setups=none,r1,...]

Builds the training step of `experiment=study_<discriminator> setup=<name>` for every set-up
of conf/setup/ (or those named) and times each against `setup=none` in alternating blocks on
random images of MNIST's shape, so a busy machine slows both alike: the median of `rounds`
blocks of `steps` steps each. One thread by default, as the studies train on this CPU. Prints
a Markdown table; with `out=`, also writes it as JSON, which `python -m gan.study` reads for
the answer's cost per step and the table's `step vs none` column (the runs' own wall time per
step depends on what shared the machine while they ran).
"""

import json
import sys
from collections.abc import Callable
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from options_cost import call_of
from timing import ms_per_call, paired_medians

from gan.run.acceleration import configure_process, resolve_device
from gan.run.build import build_step
from gan.run.config import register_configs

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
SETUPS = sorted(path.stem for path in (CONF_DIR / "setup").glob("*.yaml"))


def steps_of(discriminator: str, setups: list[str],
             device: torch.device) -> dict[str, Callable[[], object]]:
    """One call of each set-up's training step in the study's config, by set-up name."""
    register_configs()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return {name: call_of(build_step(compose("config", overrides=[
            f"experiment=study_{discriminator}", f"setup={name}"]), device), device)
            for name in setups}


def measure(options: dict[str, str]) -> dict[str, object]:
    """Every set-up's ms per step, `none`'s in the blocks paired with it, and the ratio of
    the two (medians of paired blocks); `none`'s own entry is the median over all pairs."""
    device = resolve_device(options.get("device", "cpu"))
    configure_process(int(options.get("threads", 1)))
    steps, rounds = int(options.get("steps", 20)), int(options.get("rounds", 3))
    named = options["setups"].split(",") if "setups" in options else SETUPS
    calls = steps_of(options["discriminator"], sorted({"none", *named}), device)
    for call in calls.values():
        ms_per_call(call, 3, device)  # warm-up: allocations, lazy initialisation
    timed = {name: paired_medians(call, calls["none"], steps, rounds, device)
             for name, call in calls.items() if name != "none"}
    base = sorted(theirs for _, theirs in timed.values())[len(timed) // 2] if timed else (
        paired_medians(calls["none"], calls["none"], steps, rounds, device)[0])
    return {"discriminator": options["discriminator"], "device": device.type,
            "threads": torch.get_num_threads(), "steps": steps, "rounds": rounds,
            "command": "python bench/setup_cost.py " + " ".join(
                f"{key}={value}" for key, value in options.items() if key != "out"),
            "ms_per_step": {"none": base} | {name: mine for name, (mine, _) in timed.items()},
            "none_ms_per_step": {"none": base} | {name: theirs
                                                  for name, (_, theirs) in timed.items()},
            "ratio": {"none": 1.0} | {name: mine / theirs
                                      for name, (mine, theirs) in timed.items()}}


def main(argv: list[str]) -> None:
    """Measure, print the table, and write the JSON where `out=` says."""
    options = dict(word.split("=", 1) for word in argv)
    if "discriminator" not in options:
        raise SystemExit("usage: python bench/setup_cost.py discriminator=fc|cnn|dcgan [out=...]")
    result = measure(options)
    print(f"discriminator={result['discriminator']}, {result['device']}, {result['threads']} "
          f"thread(s), median of {result['rounds']} paired blocks of {result['steps']} steps")
    print("| set-up | ms/step | none, paired | against none |\n|---|---|---|---|")
    for name, ratio in sorted(result["ratio"].items(), key=lambda item: item[1]):
        print(f"| {name} | {result['ms_per_step'][name]:.2f} | "
              f"{result['none_ms_per_step'][name]:.2f} | {ratio:.2f}x |")
    if "out" in options:
        Path(options["out"]).parent.mkdir(parents=True, exist_ok=True)
        Path(options["out"]).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
