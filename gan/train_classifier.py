"""Train the evaluator classifier of a dataset and write its weights into the package.

`python -m gan.train_classifier dataset=mnist` (or `dataset=fashion_mnist`); see README.
"""

import logging
import sys
import time
from pathlib import Path

import hydra
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from gan.cli import one_line_errors
from gan.errors import UserError
from gan.metrics.classifier import WEIGHTS_DIR
from gan.metrics.fitting import accuracy, record, train_classifier
from gan.run.build import build_source
from gan.run.config import ClassifierConfig, register_configs

log = logging.getLogger(__name__)
register_configs()


def fit(cfg: DictConfig) -> Path:
    """Load the dataset, train on its training set, measure on its test set, write the weights."""
    settings: ClassifierConfig = OmegaConf.to_object(cfg.classifier)  # checked before any work
    source = build_source(cfg.dataset)
    images, labels = source.labelled(torch.device("cpu"))
    test_images, test_labels = source.labelled(torch.device("cpu"), train=False)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)  # for this fit only: it is process-wide
    started = time.perf_counter()
    try:
        classifier = train_classifier(images, labels, settings.epochs, settings.batch_size,
                                      settings.lr, settings.shift, settings.seed)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
    seconds = time.perf_counter() - started
    test_accuracy = accuracy(classifier, test_images, test_labels)
    log.info(f"{source.name}: test accuracy {test_accuracy:.4f} after {seconds:.0f} s")
    out = Path(cfg.out) if cfg.out else WEIGHTS_DIR
    return record(classifier, test_accuracy, OmegaConf.to_container(cfg.classifier), seconds,
                  source.name, out)


@hydra.main(config_path="../conf", config_name="classifier", version_base="1.3")
def main(cfg: DictConfig) -> None:
    """Fit and record; the Hydra run directory keeps the log."""
    try:
        path = fit(cfg)
    except UserError as error:
        sys.exit(f"error: {error}")
    log.info(f"wrote {path} and {path.with_suffix('.json').name} "
             f"(log in {HydraConfig.get().runtime.output_dir})")


if __name__ == "__main__":
    one_line_errors(main)  # a dataset without an evaluator, a bad key: one `error:` line
