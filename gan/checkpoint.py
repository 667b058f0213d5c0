"""Checkpoints: everything a run needs to be sampled from or continued, written atomically."""

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch

from gan.errors import UserError, first_line

CHECKPOINT_NAME = "checkpoint.pt"
RESUME_KEYS = ("step", "generator", "discriminator", "g_optimizer", "d_optimizer", "fixed_z",
               "batcher", "rng", "remedies")  # what a checkpoint must hold to be continued


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
    _write_atomically(path, lambda file: torch.save(state, file))


def write_atomically(path: Path, text: str) -> None:
    """Write a text file the same way: a reader sees the old or the new file, never a part."""
    _write_atomically(path, lambda file: file.write(text.encode()))


def _write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write into a temporary file beside path, flush it to disk, then rename it over path."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # one per writing process
    try:
        with open(temporary, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
        _sync_directory(path.parent)  # the rename itself survives a power cut
    finally:
        temporary.unlink(missing_ok=True)  # only still there when the write failed


def _sync_directory(directory: Path) -> None:
    """fsync a directory's entry list, where the system allows it (POSIX)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Read a checkpoint without executing pickled code."""
    return torch.load(path, map_location=device, weights_only=True)


def read_checkpoint(path: Path, device: torch.device | str = "cpu",
                    required: tuple[str, ...] = ("generator",)) -> dict[str, Any]:
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
