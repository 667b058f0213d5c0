"""Train a GAN: `python train.py [group=option ...] [key=value ...]` (see README.md)."""

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from gan.builder import run
from gan.config import register_configs
from gan.errors import UserError

register_configs()


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    """Compose, build, train; every output goes to Hydra's run directory. Returns the metric
    named by `eval.objective`, for sweepers (None when evaluation is off and it is a score)."""
    try:
        metrics = run(cfg, Path(HydraConfig.get().runtime.output_dir))
    except UserError as error:
        sys.exit(f"error: {error}")  # one paragraph and a non-zero exit code, no traceback
    return metrics.get(cfg.eval.objective)


if __name__ == "__main__":
    main()
