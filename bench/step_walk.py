"""The files one training step passes through, from `python train.py` to the first optimizer
update: every file of this repository whose code runs on the way (imports that only define
names do not count: a function or method of the file must run), in the order first reached.

    python bench/step_walk.py [train.py overrides ...]

The default run is `python train.py` with 1 step, evaluation off and no outputs kept: the walk
the README's architecture section lists (docs/architecture.md). It stops at the first
`torch.optim.Optimizer.step` (the discriminator's update)."""

import inspect
import os
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parents[1]


class Reached(Exception):
    """The first optimizer update: the walk ends here."""


def walk(overrides: list[str]) -> list[str]:
    """The repository files whose functions ran before the first optimizer update, in order."""
    sys.path.insert(0, str(REPO))
    import torch

    import train  # the module `python train.py` runs

    seen: dict[str, None] = {}

    def tracer(frame: FrameType, event: str, arg: Any) -> None:
        path = Path(frame.f_code.co_filename)
        code = frame.f_code  # a function's, not a module's or a class body's (no new locals)
        if (event == "call" and code.co_flags & inspect.CO_NEWLOCALS and REPO in path.parents
                and path != Path(__file__).resolve()):
            seen.setdefault(str(path.relative_to(REPO)), None)

    def reached(*args: Any, **kwargs: Any) -> None:
        raise Reached

    for optimizer in (torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD):
        optimizer.step = reached  # each optimizer defines its own step
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        sys.argv = ["train.py", "train.steps=1", "eval.every=0", "train.cuda_graph=false",
                    f"hydra.run.dir={scratch}/run", *overrides]
        sys.setprofile(tracer)
        try:
            train.command_line()
        except (Reached, SystemExit):
            pass
        finally:
            sys.setprofile(None)
    return list(seen)


if __name__ == "__main__":
    files = walk(sys.argv[1:])
    for number, name in enumerate(files, 1):
        print(f"{number:3d}  {name}")
