"""Deprecated: `Forward` and `Loss` live in `gan.core.objective`, `StepOutput` in
`gan.core.step` (issue 36). Importing them from here still works, with a DeprecationWarning."""

import warnings

from gan.core.objective import Forward, Loss
from gan.core.step import StepOutput

__all__ = ["Forward", "Loss", "StepOutput"]
warnings.warn("gan.core.records is deprecated: import Forward and Loss from gan.core.objective, "
              "StepOutput from gan.core.step", DeprecationWarning, stacklevel=2)
