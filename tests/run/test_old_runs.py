"""Run directories written by earlier gan-labs still sample, evaluate and resume. Before the
layered layout, configs named classes at old module paths and gave label smoothing and batch
norm no class, and checkpoints kept no state entry for those two remedies. Later, while the
remedies that only set an option of another part (label smoothing, balance, batch norm,
packing, minibatch discrimination, DiffAugment) were classes, configs named them as
`_target_` and set nothing in the parts, and checkpoints kept an empty state entry for each."""

from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from gan import sample
from gan.run.checkpoint import load_checkpoint, save_checkpoint
from gan.run.loop import run
from gan.run.saved import read_config, resumed_config
from tests.conftest import compose_config

pytestmark = pytest.mark.usefixtures("data_root")
OLD_CONFIG = Path(__file__).parent / "fixtures" / "old_layout_config.yaml"
CLASS_CONFIG = Path(__file__).parent / "fixtures" / "class_remedies_config.yaml"
REMEDIES = "remedy=[label_smoothing,batch_norm,ema]"
# The remedies of CLASS_CONFIG's run, in its order; which were presets made classes then.
CLASS_REMEDIES = ["label_smoothing", "balance", "historical_averaging", "batch_norm", "packing",
                  "minibatch_discrimination", "diff_augment", "ema"]
NOW_OBJECTS = ("historical_averaging", "ema")


def old_run(run_dir: Path, data_root: Path) -> Path:
    """A 3-step run made to look as the earlier gan-lab wrote it: its config.yaml, and a
    checkpoint whose remedy states cover only the remedies that were objects then (ema)."""
    run(compose_config(REMEDIES, "train.steps=3", "train.device=cpu"), run_dir)
    state = load_checkpoint(run_dir / "checkpoint.pt")
    state["remedies"] = [{}]
    save_checkpoint(state, run_dir / "checkpoint.pt")
    (run_dir / "config.yaml").write_text(
        OLD_CONFIG.read_text().replace("DATA_ROOT", str(data_root)))
    return run_dir


def test_an_old_config_reads_in_todays_terms(data_root: Path, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(OLD_CONFIG.read_text())
    cfg = read_config(tmp_path)
    assert cfg.generator._target_ == "gan.core.networks.FCGenerator"
    assert cfg.dataset._target_ == "gan.run.data.ImageSource"
    assert cfg.loss.real_target == cfg.remedy.label_smoothing.real_target == 0.9
    assert "_target_" not in cfg.remedy.label_smoothing  # a preset's settings, as today
    assert cfg.generator.batch_norm and "_target_" not in cfg.remedy.batch_norm
    assert cfg.remedy.ema._target_ == "gan.core.remedies.EMA"


def test_an_old_run_samples_as_it_did(data_root: Path, tmp_path: Path) -> None:
    new = tmp_path / "new"
    run(compose_config(REMEDIES, "train.steps=3", "train.device=cpu"), new)
    old = old_run(tmp_path / "old", data_root)
    for run_dir in (new, old):
        sample.main([f"run_dir={run_dir}", "n=20", f"out={run_dir / 'drawn'}", "device=cpu"])
    np.testing.assert_array_equal(np.load(old / "drawn.npy"), np.load(new / "drawn.npy"))


def downgraded(run_dir: Path) -> None:
    """Rewrite a run as the gan-lab before the layered layout wrote it: old module paths (label
    smoothing and batch norm were settings written into the loss and networks then, as their
    presets write them now, and only the remedies that are objects keep a state entry)."""
    cfg = OmegaConf.load(run_dir / "config.yaml")
    for node in (cfg.generator, cfg.discriminator, cfg.loss, cfg.step, cfg.dataset,
                 *cfg.remedy.values()):
        for new, old in (("gan.core.networks.", "gan.models."), ("gan.core.losses.", "gan.losses."),
                         ("gan.core.step.", "gan.step."), ("gan.core.remedies.", "gan.remedies."),
                         ("gan.run.data.", "gan.data.")):
            if "_target_" in node:
                node._target_ = node._target_.replace(new, old)
    OmegaConf.save(cfg, run_dir / "config.yaml")


def test_an_old_run_resumes_to_the_uninterrupted_run(data_root: Path, tmp_path: Path) -> None:
    whole = run(compose_config(REMEDIES, "train.steps=5", "train.device=cpu"), tmp_path / "whole")
    old = old_run(tmp_path / "old", data_root)
    resumed = run(resumed_config(old, ["train.steps=5"]), old)
    assert (resumed["final_loss_g"], resumed["final_loss_d"]) == (whole["final_loss_g"],
                                                                  whole["final_loss_d"])
    for key, value in load_checkpoint(tmp_path / "whole" / "checkpoint.pt")["generator"].items():
        assert torch.equal(load_checkpoint(old / "checkpoint.pt")["generator"][key], value)


def test_an_old_run_with_remedy_state_resumes_to_the_uninterrupted_run(tmp_path: Path) -> None:
    remedies = ("remedy=[label_smoothing,historical_averaging,batch_norm,ema]",
                "remedy.historical_averaging.networks=both", "train.device=cpu")
    whole = run(compose_config(*remedies, "train.steps=5"), tmp_path / "whole")
    old = tmp_path / "old"
    run(compose_config(*remedies, "train.steps=3"), old)
    downgraded(old)
    assert len(load_checkpoint(old / "checkpoint.pt")["remedies"]) == 2
    resumed = run(resumed_config(old, ["train.steps=5"]), old)
    assert (resumed["final_loss_g"], resumed["final_loss_d"]) == (whole["final_loss_g"],
                                                                  whole["final_loss_d"])


def class_run(run_dir: Path, data_root: Path) -> Path:
    """A 3-step run made to look as gan-lab wrote it while the presets were classes: its
    config.yaml (CLASS_CONFIG), and a checkpoint with an (empty) state entry for each of them."""
    run(compose_config(f"remedy=[{','.join(CLASS_REMEDIES)}]", "train.steps=3",
                       "train.device=cpu", "train.threads=1"), run_dir)
    state = load_checkpoint(run_dir / "checkpoint.pt")
    kept = dict(zip(NOW_OBJECTS, state["remedies"], strict=True))
    state["remedies"] = [kept.get(name, {}) for name in CLASS_REMEDIES]
    save_checkpoint(state, run_dir / "checkpoint.pt")
    (run_dir / "config.yaml").write_text(
        CLASS_CONFIG.read_text().replace("DATA_ROOT", str(data_root)))
    return run_dir


def test_a_config_with_remedy_classes_reads_as_todays_presets(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(CLASS_CONFIG.read_text())
    old = read_config(tmp_path)
    today = compose_config(f"remedy=[{','.join(CLASS_REMEDIES)}]")
    for part in ("generator", "discriminator", "loss", "step", "remedy"):
        assert OmegaConf.to_container(old[part]) == OmegaConf.to_container(today[part],
                                                                            resolve=True), part


def test_a_run_with_remedy_classes_samples_and_resumes_as_it_did(data_root: Path,
                                                                  tmp_path: Path) -> None:
    # One thread, as the old run's config says: where train.threads is 0 a run takes the cores
    # free at its start, and another count rounds otherwise.
    remedies = f"remedy=[{','.join(CLASS_REMEDIES)}]"
    whole = run(compose_config(remedies, "train.steps=5", "train.device=cpu", "train.threads=1"),
                tmp_path / "whole")
    new = tmp_path / "new"
    run(compose_config(remedies, "train.steps=3", "train.device=cpu", "train.threads=1"), new)
    old = class_run(tmp_path / "old", data_root)
    for run_dir in (new, old):
        sample.main([f"run_dir={run_dir}", "n=20", f"out={run_dir / 'drawn'}", "device=cpu"])
    np.testing.assert_array_equal(np.load(old / "drawn.npy"), np.load(new / "drawn.npy"))
    resumed = run(resumed_config(old, ["train.steps=5"]), old)
    assert (resumed["final_loss_g"], resumed["final_loss_d"]) == (whole["final_loss_g"],
                                                                  whole["final_loss_d"])
