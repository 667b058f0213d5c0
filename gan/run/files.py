"""Writing a run's files so that a crash or a concurrent reader never sees half of one."""

import contextlib
import os
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
