"""A search space written in Hydra's override grammar (`tag(log, interval(1e-5, 1e-3))`,
`choice(a, b)`, `range(...)`) as Optuna distributions, and a trial's values back as overrides.

Optuna is imported only where a distribution is made: Hydra imports the sweeper (and so this
module) at every start-up, with or without the `optuna` extra installed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    Override,
    RangeSweep,
    Transformer,
    ValueType,
)
from hydra.errors import HydraException

if TYPE_CHECKING:  # Optuna's types only; the package is imported where it is used
    from optuna.distributions import BaseDistribution


@dataclass
class SearchSpace:
    """A sweep's overrides split in two: the distributions Optuna samples, by key, and the
    overrides every trial gets as they are."""

    distributions: dict[str, BaseDistribution]
    fixed: list[str]
    texts: dict[str, dict[Any, str]]  # a choice's value -> how it is written as an override

    def overrides(self, params: Mapping[str, Any]) -> list[str]:
        """A trial's overrides: the shared ones, then each sampled value in Hydra's grammar
        (a choice keeps its original spelling, quotes included)."""
        sampled = [f"{key}={self.texts.get(key, {}).get(value, value)}"
                   for key, value in params.items()]
        return [*self.fixed, *sampled]

    def each_choice(self) -> list[list[str]]:
        """Trials' overrides that between them hold every choice of every categorical parameter
        (`discriminator=fc,cnn`: one trial each), the other parameters at their first choice or
        lowest value: what a search composes before its first trial, so a choice no trial can
        run with is refused before any trains."""
        first = {key: _first(d) for key, d in self.distributions.items()}
        trials = [first] + [{**first, key: choice} for key, d in self.distributions.items()
                            for choice in getattr(d, "choices", ())[1:]]
        return [self.overrides(params) for params in trials]


def _first(distribution: BaseDistribution) -> Any:
    """A categorical distribution's first choice, a numeric one's lowest value."""
    choices = getattr(distribution, "choices", None)
    return choices[0] if choices is not None else distribution.low


def search_space(overrides: Sequence[Override]) -> SearchSpace:
    """The distributions of the sweep overrides and the plain overrides. A key given twice
    keeps its last value, so the command line wins over `hydra.sweeper.params`."""
    last = {override.get_key_element(): override for override in overrides}
    space = SearchSpace({}, [], {})
    for key, override in last.items():
        if not override.is_sweep_override():
            space.fixed.append(override.input_line or
                               f"{key}={override.get_value_element_as_str()}")
            continue
        try:
            space.distributions[key], texts = distribution(override)
        except ValueError as error:  # Optuna's refusal of bounds or steps
            raise HydraException(f"cannot search {key}={override.get_value_string()}: "
                                 f"{error}") from None
        if texts:
            space.texts[key] = texts
    return space


def distribution(override: Override) -> tuple[BaseDistribution, dict[Any, str]]:
    """One sweep override as an Optuna distribution: a choice (`a,b`, `choice(a,b)`, `glob(*)`)
    is categorical, `range(start, stop, step)` a stepped int or float range (stop excluded, as
    in Python), `interval(low, high)` continuous, `tag(log, ...)` log-scaled and
    `tag(int, interval(...))` integer. Returns it with each choice's override text."""
    from optuna.distributions import CategoricalDistribution

    sweep = override.value()
    if override.value_type is ValueType.GLOB_CHOICE_SWEEP:  # config group options by name
        names = list(override.sweep_string_iterator())
        return CategoricalDistribution(names), {name: name for name in names}
    if isinstance(sweep, ChoiceSweep):
        # Optuna's choices are None, bool, int, float or str: anything else goes as its text.
        texts = {Transformer.encode(item): Transformer.str(item) for item in sweep.list}
        return CategoricalDistribution(list(texts)), texts
    if isinstance(sweep, RangeSweep):
        return _stepped(sweep), {}
    if isinstance(sweep, IntervalSweep):
        return _interval(sweep), {}
    raise HydraException(f"cannot search {override.input_line}: not a choice, range or interval")


def _stepped(sweep: RangeSweep) -> BaseDistribution:
    """`range(start, stop, step)` as the same values in Optuna's terms: from the smallest to the
    largest value the range yields, by the step's size. Decimal arithmetic keeps a float range's
    ends exact (0.1 + 4 * 0.2 is 0.9, not 0.9000000000000001), as Optuna checks them."""
    from optuna.distributions import FloatDistribution, IntDistribution

    assert sweep.start is not None and sweep.stop is not None  # the grammar requires both
    start, stop, step = (Decimal(str(value)) for value in (sweep.start, sweep.stop, sweep.step))
    if not step:
        raise ValueError("the step is 0")
    count = math.ceil((stop - start) / step)
    if count < 1:
        raise ValueError("the range is empty")
    low, high = sorted((start, start + (count - 1) * step))
    log_scale = "log" in sweep.tags
    if all(isinstance(value, int) for value in (sweep.start, sweep.stop, sweep.step)):
        return IntDistribution(int(low), int(high), log=log_scale, step=abs(int(step)))
    return FloatDistribution(float(low), float(high), log=log_scale, step=float(abs(step)))


def _interval(sweep: IntervalSweep) -> BaseDistribution:
    """`interval(low, high)`, both ends included; integers with the `int` tag, log-uniform with
    the `log` tag."""
    from optuna.distributions import FloatDistribution, IntDistribution

    assert sweep.start is not None and sweep.end is not None  # the grammar requires both
    log_scale = "log" in sweep.tags
    if "int" in sweep.tags:
        return IntDistribution(int(sweep.start), int(sweep.end), log=log_scale)
    return FloatDistribution(sweep.start, sweep.end, log=log_scale)
