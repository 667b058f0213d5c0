"""Checkpoints, the one schema: what is written, how it is read back into a run, what must be
there; written atomically and read without executing pickled code."""

from pathlib import Path
from typing import Any

import torch

from gan.core.networks import Generator
from gan.core.remedies import Remedy
from gan.core.step import AdversarialStep
from gan.errors import UserError, first_line
from gan.run.acceleration import CudaGraphStep
from gan.run.data import DeviceBatcher
from gan.run.files import write_bytes_atomically

BEST_NAME = "best.pt"  # the generator where it scored its best (eval.objective), to sample from
NETWORKS = ("generator", "discriminator", "g_optimizer", "d_optimizer")  # the step's state
RESUME_KEYS = ("step", *NETWORKS, "fixed_z", "batcher", "rng",
               "remedies")  # what a checkpoint must hold to be continued
SAMPLE_KEYS = ("generator",)  # what it must hold to be sampled from; "sampler" (EMA) if any


def checkpoint_state(adversarial: AdversarialStep | CudaGraphStep, sampler: Generator | None,
                     batcher: DeviceBatcher, fixed_z: torch.Tensor, steps: int,
                     seconds: dict[str, float] | None = None,
                     evaluation: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything needed to sample from or continue a run that has completed `steps` steps;
    `seconds`, the run's wall and loop time so far, lets a resumed run report the whole, and
    `evaluation` (its best so far, what its collapse watch saw) compare with the whole."""
    state = {"step": steps, **{name: getattr(adversarial, name).state_dict() for name in NETWORKS},
             "fixed_z": fixed_z, "batcher": batcher.state_dict(), "rng": rng_states(),
             "remedies": [remedy.state_dict() for remedy in adversarial.remedies],
             "seconds": seconds or {}, "evaluation": evaluation or {}}
    # A weight average samples come from (ema): saved only when there is one.
    return state | ({} if sampler is None else {"sampler": sampler.state_dict()})


def restore(adversarial: AdversarialStep | CudaGraphStep, sampler: Generator | None,
            batcher: DeviceBatcher, state: dict[str, Any], steps: int) -> tuple[int, torch.Tensor]:
    """Put a checkpoint back, in place: weights, optimizers, remedies, the data order and every
    RNG; returns the steps it had done, where the loop goes on, and its fixed noise. (Its
    `seconds`, absent from checkpoints of earlier versions, are the caller's to read.)"""
    done = steps_done(state, steps)
    for name in NETWORKS:
        getattr(adversarial, name).load_state_dict(state[name])
    if sampler is not None:
        if "sampler" not in state:
            raise UserError("the checkpoint holds no EMA weights (sampler) for the ema remedy")
        sampler.load_state_dict(state["sampler"])
    for remedy, remedy_state in _paired(adversarial.remedies, state["remedies"]):
        remedy.load_state_dict(remedy_state)
    batcher.load_state_dict(state["batcher"])
    set_rng_states(state["rng"])  # last: building the objects above drew from them
    return done, state["fixed_z"]


def _paired(remedies: list[Remedy], saved: list[dict[str, Any]]
            ) -> list[tuple[Remedy, dict[str, Any]]]:
    """Each remedy with its saved state. Where the counts differ, the remedies that keep state
    are paired with the entries that hold some: checkpoints written before label smoothing and
    batch norm were remedy objects have no entry for them, and those written while they and
    balance, packing, diff_augment and minibatch_discrimination were objects (now presets) have
    an empty one for each; none of them keeps state."""
    if len(saved) != len(remedies):
        remedies = [remedy for remedy in remedies if remedy.state_dict()]
        saved = [entry for entry in saved if entry]
    if len(saved) != len(remedies):
        raise UserError(f"the checkpoint holds the state of {len(saved)} remedies, this run's "
                        f"config has {len(remedies)} (a checkpoint of another run?)")
    return list(zip(remedies, saved, strict=True))


def best_state(generator: Generator, sampler: Generator | None, steps: int,
               best: dict[str, Any]) -> dict[str, Any]:
    """What `best.pt` holds: the generator (and the weight average samples come from, ema)
    after `steps` steps, where the run's evaluation scored `best`; enough to sample from and
    evaluate (`SAMPLE_KEYS`), not to resume."""
    state = {"step": steps, "generator": generator.state_dict(), "best": best}
    return state | ({} if sampler is None else {"sampler": sampler.state_dict()})


def generator_state(state: dict[str, Any]) -> dict[str, Any]:
    """The generator weights samples come from: the average (ema) where there is one."""
    return state.get("sampler", state["generator"])


def rng_states() -> dict[str, Any]:
    """The torch random states of the CPU and, when this process uses CUDA, of every device
    (a CPU run on a GPU machine starts no CUDA context for them)."""
    states: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict[str, Any]) -> None:
    """Restore states saved by `rng_states` (torch takes them as CPU tensors only, wherever
    the checkpoint was loaded to)."""
    torch.set_rng_state(states["cpu"].cpu())
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([state.cpu() for state in states["cuda"]])


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write state to path through a temporary file and a rename, so a crash mid-write keeps the
    previous checkpoint whole."""
    for stale in path.parent.glob(f"{path.name}.*.tmp"):  # a killed writer's, never whole
        stale.unlink(missing_ok=True)
    write_bytes_atomically(path, lambda file: torch.save(state, file))


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Read a checkpoint without executing pickled code."""
    return torch.load(path, map_location=device, weights_only=True)


def read_checkpoint(path: Path, device: torch.device | str = "cpu",
                    required: tuple[str, ...] = SAMPLE_KEYS) -> dict[str, Any]:
    """A checkpoint of ours holding the required entries, or a UserError that says what is
    wrong (missing, truncated or corrupt, unsafe, or some other file)."""
    if not path.is_file():
        raise UserError(f"{path.parent} has no {path.name} yet (a run writes one every "
                        "train.checkpoint_every steps and after its last step)")
    try:
        state = load_checkpoint(path, device)
    except Exception as error:  # truncated, not a zip, not a torch file, unsafe pickle, ...
        raise UserError(f"{path} is not a readable checkpoint (corrupt or truncated?): "
                        f"{first_line(error)}") from None
    missing = [key for key in required if not isinstance(state, dict) or key not in state]
    if missing:
        raise UserError(f"{path} is not a gan-lab checkpoint (or one this command cannot "
                        f"use): it holds no {', '.join(missing)}")
    return state


def steps_done(state: dict[str, Any], steps: int) -> int:
    """The steps a checkpoint has done, checked to leave some of `steps` to resume."""
    done = int(state["step"])
    if done >= steps:
        raise UserError(f"the run has done {done} steps and train.steps={steps}: nothing to "
                        f"resume (raise train.steps to extend it)")
    return done
