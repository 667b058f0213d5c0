"""The study's pictures, drawn with matplotlib (the `plots` extra: pip install -e ".[plots]"):
per discriminator, FID and classes covered against step in a panel per set-up, and the final class
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
    """Write `curve_figure` as a PNG."""
    plt = pyplot()
    figure = curve_figure(setups, baseline, title)
    figure.savefig(path, dpi=80)
    plt.close(figure)


def curve_figure(setups: Mapping[str, Mapping[str, Curve]], baseline: str | None,
                 title: str) -> Any:
    """FID (log scale) above classes covered, against step, in a panel per set-up (five to a
    row; nineteen lines on one axis could not be told apart): its mean over seeds in a band from
    the lowest seed to the highest, with the baseline's (no remedy) in grey behind it. Every
    panel shares its metric's scale. `setups`: label -> metric -> curve."""
    figure, axes = panel_grid(len(setups))
    columns = axes.shape[1]
    for index, (label, metrics) in enumerate(setups.items()):
        row, column = divmod(index, columns)
        pair = axes[2 * row, column], axes[2 * row + 1, column]
        if baseline in setups and label != baseline:
            draw(pair, setups[baseline], {"color": "grey", "linewidth": 1.0}, baseline)
        style = {"color": "black" if label == baseline else "tab:blue", "linewidth": 1.6}
        draw(pair, metrics, style, label)
        pair[0].set_title(label, fontsize=9)
    label_axes(axes, len(setups))
    figure.suptitle(title + (f"; grey: {baseline}" if baseline in setups else ""))
    return figure


def panel_grid(n: int) -> tuple[Any, Any]:
    """A figure of n panel pairs, five to a row, FID axes above class axes: every FID axis on
    one scale and every class axis on another; the last row's empty cells hidden."""
    plt = pyplot()
    columns = min(n, 5)
    rows = math.ceil(n / columns)
    figure, axes = plt.subplots(2 * rows, columns, figsize=(3.1 * columns + 0.6, 3.4 * rows + 0.5),
                                squeeze=False, sharex=True, constrained_layout=True)
    for row in range(2 * rows):
        for axis in axes[row]:
            if axis is not axes[row % 2, 0]:
                axis.sharey(axes[row % 2, 0])
    for index in range(n, rows * columns):
        row, column = divmod(index, columns)
        axes[2 * row, column].set_visible(False)
        axes[2 * row + 1, column].set_visible(False)
    return figure, axes


def label_axes(axes: Any, n: int) -> None:
    """Scales, ticks and labels of a panel grid of n set-ups: FID on a log scale read in plain
    numbers (200, not 2 x 10^2; minor ticks labelled at 2 and 5 only, so they never crowd),
    classes 0 to 10, steps in thousands, "step" under each column's lowest panel."""
    plt = pyplot()
    rows, columns = axes.shape[0] // 2, axes.shape[1]
    axes[0, 0].set_yscale("log")
    axes[0, 0].yaxis.set_major_formatter(plt.FuncFormatter(lambda value, _: f"{value:g}"))
    axes[0, 0].yaxis.set_minor_formatter(plt.FuncFormatter(
        lambda value, _: f"{value:g}" if f"{value:e}"[0] in "25" else ""))
    axes[0, 0].xaxis.set_major_locator(plt.MaxNLocator(4))
    axes[0, 0].xaxis.set_major_formatter(plt.FuncFormatter(
        lambda value, _: f"{value / 1000:g}k" if value else "0"))
    axes[1, 0].set_ylim(0, 10.5)
    for row in range(rows):
        axes[2 * row, 0].set_ylabel("FID", fontsize=8)
        axes[2 * row + 1, 0].set_ylabel("classes", fontsize=8)
    for axis in axes.flat:
        axis.tick_params(which="both", labelsize=7)
    for column in range(columns):
        last = max(r for r in range(rows) if r * columns + column < n)
        axes[2 * last + 1, column].set_xlabel("step", fontsize=8)
        axes[2 * last + 1, column].tick_params(labelbottom=True)  # above an empty cell


def draw(pair: Sequence[Any], metrics: Mapping[str, Curve], style: dict[str, Any],
         label: str) -> None:
    """One set-up's FID and classes on a pair of axes: the mean line and its min-max band."""
    for axis, name in zip(pair, ("fid", "modes_covered"), strict=True):
        steps, mean, low, high = pooled(metrics.get(name, []))
        if steps:
            axis.plot(steps, mean, label=label, **style)
            axis.fill_between(steps, low, high, color=style["color"], alpha=0.15, linewidth=0)


def top(setups: Mapping[str, Sequence[float]]) -> int:
    """The histograms' shared height in percent: the largest share any set-up gives one class,
    rounded up to a multiple of 10, at least 20 (the uniform 10% sits well inside) and at most
    100 (a complete collapse fills the axis)."""
    largest = max((share for histogram in setups.values() for share in histogram), default=0.0)
    return min(100, max(20, 10 * math.ceil(round(100 * largest, 6) / 10)))


def histograms(setups: Mapping[str, Sequence[float]], title: str, path: Path) -> None:
    """The final class histogram of each set-up (the mean over its seeds), side by side, in
    percent of the samples on one shared axis (`top`) with the uniform 10% marked; a class
    under 1% in red."""
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
        axis.set(ylim=(0, top(setups)), xticks=range(len(shares)), title=label)
        axis.title.set_fontsize(8)
        axis.tick_params(labelsize=7)
    for axis in axes[:, 0]:
        axis.set_ylabel("% of samples", fontsize=8)
    figure.suptitle(title)
    figure.savefig(path, dpi=80)
    plt.close(figure)
