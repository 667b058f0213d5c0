"""The study's pictures, drawn with matplotlib (the `plots` extra: pip install -e ".[plots]"):
per discriminator, FID and classes covered against step for every set-up, and the final class
histograms side by side. Each function takes plain numbers and writes one PNG."""

import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gan.errors import UserError

Curve = Sequence[Sequence[tuple[int, float]]]  # one (step, value) series per seed


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend. Raises UserError naming the extra."""
    try:
        import matplotlib
    except ImportError:
        raise UserError('the pictures need matplotlib: pip install -e ".[plots]"') from None
    matplotlib.use("Agg")  # no display here, and none needed
    import matplotlib.pyplot as plt
    return plt


def pooled(curve: Curve) -> tuple[list[int], list[float], list[float], list[float]]:
    """Steps every seed evaluated at, and the mean, min and max over seeds at each (a seed that
    logged nothing, say without its event files, is left out rather than emptying the curve)."""
    by_seed = [dict(series) for series in curve if series]
    shared = sorted(set.intersection(*(set(seed) for seed in by_seed))) if by_seed else []
    values = [[series[step] for series in by_seed] for step in shared]
    return (shared, [statistics.fmean(v) for v in values], [min(v) for v in values],
            [max(v) for v in values])


def curves(setups: Mapping[str, Mapping[str, Curve]], baseline: str | None, title: str,
           path: Path) -> None:
    """FID (log scale) and classes covered against step: a line per set-up (the mean over its
    seeds) in a band from the lowest to the highest seed. `setups`: label -> metric -> curve;
    `baseline`: the label drawn thick and black (no remedy), if any."""
    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(15, 5.5), constrained_layout=True)
    colours = plt.get_cmap("tab20")
    others = iter(range(len(setups)))
    for label, metrics in setups.items():
        style = line_style(None if label == baseline else next(others), colours)
        for axis, name in zip(axes, ("fid", "modes_covered"), strict=True):
            steps, mean, low, high = pooled(metrics.get(name, []))
            if steps:
                axis.plot(steps, mean, label=label, **style)
                axis.fill_between(steps, low, high, color=style["color"], alpha=0.12)
    axes[0].set(yscale="log", ylabel="FID (lower is better)", xlabel="step")
    axes[1].set(ylim=(0, 10.5), ylabel="classes covered (of 10)", xlabel="step")
    axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    figure.suptitle(title)
    figure.savefig(path, dpi=80)
    plt.close(figure)


def line_style(shade: int | None, colours: Any) -> dict[str, Any]:
    """The baseline (`shade` None) thick and black; the others in tab20's dark shades, then its
    light ones dashed, so neighbours in the legend differ."""
    if shade is None:
        return {"color": "black", "linewidth": 2.2, "linestyle": "-"}
    return {"color": colours((2 * shade) % 20 + (shade // 10) % 2), "linewidth": 1.3,
            "linestyle": "-" if shade < 10 else "--"}


def histograms(setups: Mapping[str, Sequence[float]], title: str, path: Path) -> None:
    """The final class histogram of each set-up (the mean over its seeds), side by side, on a
    fixed 0-100% axis with the uniform 10% marked."""
    plt = pyplot()
    columns = min(len(setups), 5)
    rows = math.ceil(len(setups) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(max(2.6 * columns, 7), 2.1 * rows + 0.4),
                                squeeze=False, sharey=True, constrained_layout=True)
    for axis in axes.flat[len(setups):]:
        axis.set_visible(False)
    for axis, (label, histogram) in zip(axes.flat, setups.items(), strict=False):
        shares = [100 * share for share in histogram]
        axis.bar(range(len(shares)), shares,
                 color=["tab:red" if share < 1 else "tab:blue" for share in shares])
        axis.axhline(100 / len(shares), color="grey", linewidth=0.8)
        axis.set(ylim=(0, 100), xticks=range(len(shares)), title=label)
        axis.title.set_fontsize(8)
        axis.tick_params(labelsize=7)
    figure.suptitle(title)
    figure.savefig(path, dpi=80)
    plt.close(figure)
