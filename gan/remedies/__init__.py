"""The report's remedies for mode collapse, each a small object the step calls at fixed points.

Batch normalization and one-sided label smoothing need no object: their config files set the
networks' `batch_norm` flags and the loss's `real_target`.
"""

from gan.remedies.balance import Balance
from gan.remedies.base import Remedy
from gan.remedies.ema import EMA
from gan.remedies.feature_matching import FeatureMatching
from gan.remedies.historical_averaging import HistoricalAveraging
from gan.remedies.minibatch import MinibatchDiscrimination, MinibatchFeatures, MinibatchStddev

__all__ = ["EMA", "Balance", "FeatureMatching", "HistoricalAveraging",
           "MinibatchDiscrimination", "MinibatchFeatures", "MinibatchStddev", "Remedy"]
