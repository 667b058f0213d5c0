"""The report's remedies for mode collapse, each a small object plugged in at fixed points
(`Remedy`); every node of the `remedy` config group names one as its `_target_`."""

from gan.core.remedies.balance import Balance
from gan.core.remedies.base import PARTS, Remedy
from gan.core.remedies.batch_norm import BatchNorm
from gan.core.remedies.diff_augment import DiffAugment
from gan.core.remedies.ema import EMA
from gan.core.remedies.feature_matching import FeatureMatching
from gan.core.remedies.gradient_penalty import GradientPenalty
from gan.core.remedies.historical_averaging import HistoricalAveraging
from gan.core.remedies.label_smoothing import LabelSmoothing
from gan.core.remedies.minibatch import (
    MinibatchDiscrimination,
    MinibatchFeatures,
    MinibatchStddev,
)
from gan.core.remedies.packing import Packing
from gan.core.remedies.r1 import R1
from gan.core.remedies.spectral_norm import SpectralNorm

__all__ = ["EMA", "PARTS", "R1", "Balance", "BatchNorm", "DiffAugment", "FeatureMatching",
           "GradientPenalty", "HistoricalAveraging", "LabelSmoothing", "MinibatchDiscrimination",
           "MinibatchFeatures", "MinibatchStddev", "Packing", "Remedy", "SpectralNorm"]
