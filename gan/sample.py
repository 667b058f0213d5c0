"""`python -m gan.sample run_dir=DIR n=10000 out=FILE [seed=0] [device=auto] [checkpoint=last|best]
[label=K]`

Draws n images from a run's checkpointed generator (`checkpoint=best`: where the run's
evaluation scored its best, best.pt): FILE.npy gets a float32 array (n, H, W) in
[0, 1] (the channel dropped), FILE.png a grid of the first 100, ink on paper. The same seed
gives the same noise on every device. Works on a finished run or one still training.

A conditional run's generator (`conditioning=concat|acgan|projection`) is asked for class
`label` alone where it is given (`label=7`; on Stacked MNIST a mode, `label=427`); otherwise
for every class in turn (0, 1, ..., 9, 0, ...; fewer samples than classes are spread over them):
FILE_labels.npy then holds each sample's class (int64, n) and FILE.png is a class grid, one row
per class (ten evenly spaced of more than ten) and one noise vector per column, so a column shows
one style across the classes.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from omegaconf import MISSING

from gan.cli import parse_args, run_command
from gan.core.conditioning import balanced_labels, class_grid, grid_rows
from gan.core.networks import Generator, generate
from gan.errors import UserError
from gan.metrics.evaluator import evaluation_noise
from gan.run.acceleration import resolve_device
from gan.run.build import build_source
from gan.run.pictures import grid, save_picture, scatter
from gan.run.saved import SavedRun, load_run, rebuild

USAGE = ("python -m gan.sample run_dir=DIR [n=10000] [out=FILE] [seed=0] [device=auto] "
         "[checkpoint=last|best] [label=K]")
GRID_SIZE = 100  # images in FILE.png


@dataclass
class SampleArgs:
    """The command's arguments."""

    run_dir: str = MISSING
    n: int = 10000
    out: str | None = None  # FILE (.npy / .png added); default DIR/samples/sampled_n<n>_seed<s>
    seed: int = 0
    device: str = "auto"
    batch_size: int = 1000  # images generated per call
    checkpoint: str = "last"  # the last generator (checkpoint.pt), or the best (best.pt)
    label: int | None = None  # a conditional run's class to draw; None: every class in turn


@torch.no_grad()
def sample(generator: Generator, n: int, seed: int, batch_size: int,
           device: torch.device, labels: torch.Tensor | None = None) -> torch.Tensor:
    """n samples (n, C, H, W) or (n, 2) on the CPU from the seeded noise (the generator's
    prior), generated in chunks; a conditional generator's of the classes `labels` (n,)."""
    z = evaluation_noise(n, generator.noise_dim, seed, device, generator.prior)  # (n, noise_dim)
    return torch.cat([generate(generator, z[i:i + batch_size],
                               None if labels is None else labels[i:i + batch_size]
                               ).float().cpu()
                      for i in range(0, n, batch_size)])


def requested_labels(generator: Generator, n: int, label: int | None,
                     device: torch.device) -> torch.Tensor | None:
    """The classes (n,) asked of a conditional generator: `label` each time, or every class
    in turn; None for an unconditional one. Raises UserError for a label it cannot be asked
    for (an unconditional run's, or one outside its classes)."""
    classes = getattr(generator, "classes", 0)
    if not classes:
        if label is not None:
            raise UserError(f"label={label}: this run's generator is unconditional "
                            "(conditioning=none) and takes no label")
        return None
    if label is None:
        return balanced_labels(n, classes, device)
    if not 0 <= label < classes:
        raise UserError(f"label must be between 0 and {classes - 1} (this run's classes), "
                        f"got {label}")
    return torch.full((n,), label, dtype=torch.long, device=device)


@torch.no_grad()
def class_grid_samples(generator: Generator, columns: int, seed: int,
                       device: torch.device) -> torch.Tensor:
    """A conditional generator's class grid (rows * columns, C, H, W) on the CPU: each row
    asks for one class (every class, or ten of more: `grid_classes`) with each column's
    seeded noise vector."""
    z = evaluation_noise(columns, generator.noise_dim, seed, device, generator.prior)
    grid_z, labels = class_grid(z, generator.classes)
    return generate(generator, grid_z, labels).float().cpu()


def picture(samples: torch.Tensor, run_dir: Path, run: SavedRun,
            columns: int | None = None) -> torch.Tensor:
    """The samples pictured as the run's dataset pictures them (a grid, `columns` per row
    where given; points over the mixture's modes); where this gan-lab cannot build the dataset
    from the run's config, as their shape says (sampling needs only the generator)."""
    try:
        source = rebuild(run_dir / "config.yaml", lambda: build_source(run.cfg.dataset))
    except UserError:
        return grid(samples, nrow=columns) if samples.dim() == 4 else scatter(samples)
    return source.picture(samples, columns)


def output_paths(args: SampleArgs) -> tuple[Path, Path]:
    """FILE.npy and FILE.png; a .npy/.png typed on FILE is dropped, other dots are kept."""
    if args.out is None:
        which = "" if args.checkpoint == "last" else f"_{args.checkpoint}"
        which += "" if args.label is None else f"_label{args.label}"
        stem = Path(args.run_dir) / "samples" / f"sampled_n{args.n}_seed{args.seed}{which}"
    else:
        stem = Path(args.out)
        stem = stem.with_suffix("") if stem.suffix in (".npy", ".png") else stem
    return stem.parent / f"{stem.name}.npy", stem.parent / f"{stem.name}.png"


def main(argv: list[str]) -> None:
    """Parse, load the run, sample, write FILE.npy and FILE.png."""
    args = parse_args(SampleArgs, argv, USAGE)
    if args.n <= 0 or args.batch_size <= 0:
        raise UserError(f"n and batch_size must be positive, got n={args.n}, "
                        f"batch_size={args.batch_size}")
    device = resolve_device(args.device, "device")
    run = load_run(Path(args.run_dir), device, args.checkpoint)
    labels = requested_labels(run.generator, args.n, args.label, device)  # (n,) or None
    samples = sample(run.generator, args.n, args.seed, args.batch_size, device, labels)
    array_path, grid_path = output_paths(args)
    array_path.parent.mkdir(parents=True, exist_ok=True)
    grey = samples.dim() == 4 and samples.shape[1] == 1
    array = samples[:, 0] if grey else samples  # grey images as (n, H, W), as ever
    np.save(array_path, array.numpy().astype(np.float32))
    if labels is not None:
        np.save(labels_path(array_path), labels.cpu().numpy())
    if labels is not None and args.label is None:  # every class: the class grid
        classes = run.generator.classes
        columns = max(1, GRID_SIZE // grid_rows(classes))
        shown = class_grid_samples(run.generator, columns, args.seed, device)
        save_picture(picture(shown, Path(args.run_dir), run, columns), grid_path)
        what = f"a class grid of {grid_rows(classes)} x {columns}"
    else:
        # Images: a grid of the first GRID_SIZE; points: every one, over the mixture's modes.
        shown = samples[:GRID_SIZE] if samples.dim() == 4 else samples
        save_picture(picture(shown, Path(args.run_dir), run), grid_path)
        what = f"{'the first' if samples.dim() == 4 else 'all'} {len(shown)}"
    print(f"wrote {array_path} {tuple(array.shape)} float32 after {run.step} steps and "
          f"{grid_path} ({what})")


def labels_path(array_path: Path) -> Path:
    """Where each sample's class goes beside FILE.npy: FILE_labels.npy."""
    return array_path.with_name(f"{array_path.stem}_labels.npy")


if __name__ == "__main__":
    run_command(main, USAGE, __doc__)
