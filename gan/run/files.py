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


def remove_traces(run_dir: Path, output_subdir: str | None, fresh: bool, start: Path) -> None:
    """Undo what a refused run left: Hydra's record of it (`.hydra`, or a resume's own
    `.hydra/resumed-*`) and, for a fresh run, its log and config and then every folder left
    empty up to `start`, the directory the command started from. Anything else stays."""
    if output_subdir:
        shutil.rmtree(run_dir / output_subdir, ignore_errors=True)
    if not fresh:
        return
    for name in ("train.log", "config.yaml", "metrics.json"):
        (run_dir / name).unlink(missing_ok=True)
    start, folder = start.resolve(), run_dir.resolve()
    while folder != start and start in folder.parents and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
