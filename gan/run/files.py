"""Writing a run's files so that a crash or a concurrent reader never sees half of one."""

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(path: Path, text: str) -> None:
    """Write a text file through a temporary file and a rename: a reader sees the old or the
    new file, never a part."""
    write_bytes_atomically(path, lambda file: file.write(text.encode()))


def write_bytes_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
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


HYDRA_FILES = {"config.yaml", "hydra.yaml", "overrides.yaml"}  # what Hydra writes into .hydra/


def made_by_hydra_now(run_dir: Path) -> bool:
    """Whether run_dir holds only what Hydra makes as a job starts (`.hydra/` with its three
    files, an empty train.log): a directory this command made, before the task wrote into it."""
    hydra, log = run_dir / ".hydra", run_dir / "train.log"
    if not hydra.is_dir() or (log.exists() and log.stat().st_size > 0):
        return False
    return ({path.name for path in run_dir.iterdir()} <= {".hydra", "train.log"}
            and {path.name for path in hydra.iterdir()} <= HYDRA_FILES)


def remove_traces(run_dir: Path, output_subdir: str | None, made_now: bool,
                  start: Path) -> None:
    """Undo what a refused run left. A run directory this command made (`made_by_hydra_now` when
    it started) goes, with every folder above it left empty, up to `start`, the directory the
    command started from; in an existing directory only a resume's own `.hydra/resumed-*`
    goes, and everything else stays."""
    with contextlib.suppress(OSError):  # another process writing there: leave it be
        if not made_now:
            if output_subdir and "resumed-" in output_subdir:
                shutil.rmtree(run_dir / output_subdir)
            return
        shutil.rmtree(run_dir)
        start, folder = start.resolve(), run_dir.resolve().parent
        while folder != start and start in folder.parents and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
