"""The report's remedies for mode collapse that are behaviour, each a small object plugged in
at fixed points (`Remedy`), named by its node's `_target_` in the `remedy` config group. The
remedies that only set an option of another part are presets (conf/remedy/*.yaml); the layers
two of them give the discriminator live here too (`diff_augment`, `minibatch`)."""

from gan.core.remedies.base import Remedy
from gan.core.remedies.diff_augment import DiffAugmentLayer
from gan.core.remedies.ema import EMA
from gan.core.remedies.feature_matching import FeatureMatching
from gan.core.remedies.gradient_penalty import GradientPenalty
from gan.core.remedies.historical_averaging import HistoricalAveraging
from gan.core.remedies.minibatch import MinibatchFeatures, MinibatchStddev, minibatch_layer
from gan.core.remedies.r1 import R1
from gan.core.remedies.r2 import R2
from gan.core.remedies.slot_norm import SlotNorm
from gan.core.remedies.spectral_norm import SpectralNorm

__all__ = ["EMA", "R1", "R2", "DiffAugmentLayer", "FeatureMatching", "GradientPenalty",
           "HistoricalAveraging", "MinibatchFeatures", "MinibatchStddev", "Remedy",
           "SlotNorm", "SpectralNorm", "minibatch_layer"]
