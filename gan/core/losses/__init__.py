"""Adversarial losses, one module each (`loss=` in the config): D's and G's loss from D's
outputs on one `Forward`, each with the formula and its paper in its docstring."""

from gan.core.losses.bce import BCELoss
from gan.core.losses.hinge import HingeLoss
from gan.core.losses.least_squares import LeastSquaresLoss
from gan.core.losses.relativistic import RelativisticLoss
from gan.core.losses.wasserstein import WassersteinLoss

__all__ = ["BCELoss", "HingeLoss", "LeastSquaresLoss", "RelativisticLoss", "WassersteinLoss"]
