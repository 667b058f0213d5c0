"""Deprecated: the generator's input noise lives in `gan.core.networks` (issue 36). Importing it
from here still works, with a DeprecationWarning."""

import warnings

from gan.core.networks import UniformNoise, seeded_uniform_noise, uniform_noise

__all__ = ["UniformNoise", "seeded_uniform_noise", "uniform_noise"]
warnings.warn("gan.core.noise is deprecated: import its noise from gan.core.networks",
              DeprecationWarning, stacklevel=2)
