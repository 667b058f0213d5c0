"""The study report is generated from run directories: numbers, verdicts and pictures."""

import json
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from torchvision.utils import save_image

from gan.errors import UserError
from gan.study import main
from gan.sweep.study import write


def fake_run(root: Path, name: str, discriminator: str, remedies: list[str], seed: int,
             fid: float, class_kl: float) -> None:
    """A run directory as train.py leaves it, with chosen final metrics."""
    run = root / name
    (run / "samples" / "final").mkdir(parents=True)
    target = {name: f"gan.core.networks.{name.upper()}Discriminator" for name in ("fc", "cnn")}
    OmegaConf.save({"discriminator": {"_target_": target[discriminator]},
                    "remedy": {remedy: {} for remedy in remedies},
                    "train": {"seed": seed, "steps": 101}}, run / "config.yaml")
    (run / "metrics.json").write_text(json.dumps({
        "modes_covered": 10 if fid < 50 else 3, "class_kl": class_kl, "fid": fid,
        "final_loss_g": 1.0, "final_loss_d": 0.5}))
    save_image(torch.rand(3, 8, 8), run / "samples" / "final" / "grid.png")


def test_results_page_has_tables_verdicts_and_pictures(tmp_path: Path) -> None:
    sweep = tmp_path / "multirun"
    for seed in range(3):
        fake_run(sweep, f"none{seed}", "fc", [], seed, fid=100 + seed, class_kl=1.0 + seed / 100)
        fake_run(sweep, f"fm{seed}", "fc", ["feature_matching"], seed, fid=20 + seed,
                 class_kl=0.1)
        fake_run(sweep, f"ls{seed}", "fc", ["label_smoothing"], seed, fid=101 - seed,
                 class_kl=1.01)
        fake_run(sweep, f"bad{seed}", "fc", ["balance", "ema"], seed, fid=300, class_kl=2.0)
    out = tmp_path / "docs" / "results.md"
    write(sweep, out)
    page = out.read_text()
    assert "| none | 3 | 3.0 ± 0.0 | 1.010 ± 0.010 | 101.0 ± 1.0 |" in page
    assert "**feature_matching** helps (fid 101 -> 21" in page
    assert "**label_smoothing** makes no clear difference" in page
    assert "**balance + ema** hurts" in page
    assert "helps: feature_matching" in page
    assert (tmp_path / "docs" / "results" / "fc_balance+ema.png").exists()
    assert page.index("| none |") < page.index("| feature_matching |")  # none first


def test_an_empty_sweep_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no finished runs"):
        write(tmp_path, tmp_path / "results.md")
    with pytest.raises(SystemExit, match="no finished runs"):
        main([str(tmp_path), str(tmp_path / "results.md")])


def test_failed_runs_are_left_out_and_named(tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    sweep = tmp_path / "multirun"
    for seed in range(2):
        fake_run(sweep, f"none{seed}", "fc", [], seed, fid=100 + seed, class_kl=1.0)
    diverged = sweep / "none2"
    diverged.mkdir()  # it failed before writing its config: only its metrics.json says so
    (diverged / "metrics.json").write_text(json.dumps({"status": "diverged", "reason": "NaN"}))
    write(sweep, tmp_path / "results.md")
    assert "| none | 2 |" in (tmp_path / "results.md").read_text()
    assert f"left out: {diverged} (diverged)" in capsys.readouterr().err
