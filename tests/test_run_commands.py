"""`python -m gan.sample` and `python -m gan.evaluate` on a short real run, and their errors."""

import json
import os
import runpy
import shutil
import subprocess
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from gan import evaluate, sample
from gan.errors import UserError
from gan.run.loop import run
from tests.conftest import REPO, compose_config

pytestmark = pytest.mark.usefixtures("data_root")
EVAL_N = 600


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30-step run on real MNIST, evaluated on EVAL_N samples at its end."""
    directory = tmp_path_factory.mktemp("run")
    run(compose_config("train.steps=30", "train.device=cpu", "eval.every=1000",
                       f"eval.n={EVAL_N}"), directory)
    return directory


@pytest.fixture
def broken(run_dir: Path, tmp_path: Path) -> Path:
    """A copy of the run to damage."""
    return Path(shutil.copytree(run_dir, tmp_path / "copy"))


def command_subprocess(module: str, *args: str) -> subprocess.CompletedProcess:
    """The command as a user types it."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "HYDRA_FULL_ERROR": "0"})


@pytest.fixture(params=["in_process", pytest.param("subprocess", marks=pytest.mark.slow)])
def command(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
            capfd: pytest.CaptureFixture) -> Callable[..., subprocess.CompletedProcess]:
    """`command(MODULE, *ARGS)`: `python -m MODULE ARGS`, its exit code, stdout and stderr; run
    in this process as `-m` runs it (`runpy`, seconds cheaper), and in a subprocess in the slow
    tier."""
    if request.param == "subprocess":
        return command_subprocess

    def run(module: str, *args: str) -> subprocess.CompletedProcess:
        monkeypatch.setattr(sys, "argv", [module, *args])
        capfd.readouterr()  # what came before is not this command's
        code: str | int | None = None
        try:
            with warnings.catch_warnings():  # runpy's: the module is imported already (by gan)
                warnings.filterwarnings("ignore", "'gan.* found in sys.modules", RuntimeWarning)
                runpy.run_module(module, run_name="__main__", alter_sys=False)
        except SystemExit as stop:
            code = stop.code
        except Exception:  # as the interpreter would: the traceback, exit 1
            traceback.print_exc()
            code = 1
        out, err = capfd.readouterr()
        if isinstance(code, str):  # sys.exit("error: ..."): the line on stderr, exit 1
            err, code = err + code + "\n", 1
        return subprocess.CompletedProcess([module, *args], code or 0, out, err)
    return run


def test_sample_writes_n_images_in_unit_range_and_a_grid(run_dir: Path, tmp_path: Path) -> None:
    sample.main([f"run_dir={run_dir}", "n=250", f"out={tmp_path / 'digits'}", "seed=5"])
    images = np.load(tmp_path / "digits.npy")
    assert images.shape == (250, 28, 28) and images.dtype == np.float32
    assert images.min() >= 0 and images.max() <= 1
    assert Image.open(tmp_path / "digits.png").size[0] > 28 * 10


def test_sample_is_reproducible_by_seed(run_dir: Path, tmp_path: Path) -> None:
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        sample.main([f"run_dir={run_dir}", "n=20", f"out={tmp_path / name}.npy", f"seed={seed}"])
    a, b, c = (np.load(tmp_path / f"{name}.npy") for name in "abc")
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_evaluate_writes_eval_json_matching_the_runs_last_evaluation(
        run_dir: Path, capsys: pytest.CaptureFixture) -> None:
    evaluate.main([f"run_dir={run_dir}"])  # n and seed default to the run's eval settings
    result = json.loads((run_dir / "eval.json").read_text())
    assert {"n", "modes_covered", "class_kl", "classifier_score", "fid"} <= set(result)
    assert result["n"] == EVAL_N and result["steps"] == 30
    # Same checkpoint, same fixed noise (eval.seed=0 and seed=0): the same numbers.
    trained = json.loads((run_dir / "metrics.json").read_text())
    for name in ("modes_covered", "class_kl", "classifier_score", "fid", "real_fid"):
        assert result[name] == pytest.approx(trained[name], rel=1e-9), name
    table = capsys.readouterr().out
    assert "fid" in table and "real data" in table
    assert (run_dir / "eval_class_histogram.png").exists()


def test_evaluate_on_too_few_samples_gives_no_precision_or_recall(
        run_dir: Path, capsys: pytest.CaptureFixture) -> None:
    """The issue's input: a collapsed run scored precision 1.000 at n=200 (0.004 at 1,000)."""
    evaluate.main([f"run_dir={run_dir}", "n=200"])
    result = json.loads((run_dir / "eval.json").read_text())
    for name in ("precision", "recall", "real_precision", "real_recall"):
        assert result[name] is None, name
    assert result["manifold_note"].startswith("precision and recall not computed: 200 samples")
    assert result["fid"] > 0  # the other scores are there
    table = capsys.readouterr().out
    assert [line.split()[1:] for line in table.splitlines()
            if line.startswith(("precision ", "recall "))] == [["—", "—"], ["—", "—"]]
    assert f"—: {result['manifold_note']}" in table


def test_commands_exit_non_zero_with_one_line(command: Callable[..., subprocess.CompletedProcess],
                                              run_dir: Path, tmp_path: Path) -> None:
    for module in ("gan.sample", "gan.evaluate"):
        result = command(module, f"run_dir={tmp_path / 'missing'}")
        assert result.returncode != 0
        expected = f"error: run directory {tmp_path / 'missing'} does not exist"
        assert result.stderr.strip() == expected
    ok = command("gan.sample", f"run_dir={run_dir}", "n=3", f"out={tmp_path / 'three'}")
    assert ok.returncode == 0, ok.stderr
    assert np.load(tmp_path / "three.npy").shape == (3, 28, 28)


@pytest.mark.parametrize("main", [sample.main, evaluate.main])
def test_a_directory_that_is_not_a_run_is_refused(main, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not a run directory: it has no config.yaml"):
        main([f"run_dir={tmp_path}"])


@pytest.mark.parametrize("main", [sample.main, evaluate.main])
def test_missing_checkpoint_is_refused(main, broken: Path) -> None:
    (broken / "checkpoint.pt").unlink()
    with pytest.raises(UserError, match="has no checkpoint.pt yet"):
        main([f"run_dir={broken}"])


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
@pytest.mark.parametrize("main", [sample.main, evaluate.main])
def test_corrupt_checkpoint_is_refused(main, damage: str, broken: Path) -> None:
    checkpoint = broken / "checkpoint.pt"
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[:len(data) // 2] if damage == "truncate" else b"not a torch file")
    with pytest.raises(UserError, match="is not a readable checkpoint"):
        main([f"run_dir={broken}"])


@pytest.mark.parametrize("main", [sample.main, evaluate.main])
def test_checkpoint_from_an_incompatible_config_is_refused(main, broken: Path) -> None:
    config = broken / "config.yaml"
    config.write_text(config.read_text().replace("hidden_dim: 256", "hidden_dim: 128", 1))
    expected = "does not fit the generator .*incompatible config.*size mismatch"
    with pytest.raises(UserError, match=expected):
        main([f"run_dir={broken}"])


def test_a_dataset_config_from_another_version_stops_evaluate_only(broken: Path,
                                                                   tmp_path: Path) -> None:
    config = broken / "config.yaml"
    config.write_text(config.read_text().replace("gan.run.data.ImageSource",
                                                 "gan.run.data.load_images"))
    sample.main([f"run_dir={broken}", "n=2", f"out={tmp_path / 'two'}"])  # needs only G
    assert np.load(tmp_path / "two.npy").shape == (2, 28, 28)
    with pytest.raises(UserError, match="cannot build .*'gan.run.data.load_images'$"):
        evaluate.main([f"run_dir={broken}"])


def test_dots_in_the_output_name_are_kept(run_dir: Path, tmp_path: Path) -> None:
    sample.main([f"run_dir={run_dir}", "n=2", f"out={tmp_path / 'samples.v2'}"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["samples.v2.npy", "samples.v2.png"]


@pytest.mark.parametrize("main", [sample.main, evaluate.main])
def test_unreadable_config_is_refused(main, broken: Path) -> None:
    (broken / "config.yaml").write_text("generator: [unclosed\n")
    with pytest.raises(UserError, match="is not a readable config"):
        main([f"run_dir={broken}"])


@pytest.mark.parametrize("main", [sample.main, evaluate.main])
def test_a_torch_file_that_is_not_a_checkpoint_is_refused(main, broken: Path) -> None:
    torch.save(torch.zeros(3), broken / "checkpoint.pt")
    with pytest.raises(UserError, match="not a gan-lab checkpoint"):
        main([f"run_dir={broken}"])


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "mps"])
def test_unknown_device_is_refused(run_dir: Path, device: str) -> None:
    with pytest.raises(UserError, match="device must be auto, cpu, cuda or cuda:N"):
        sample.main([f"run_dir={run_dir}", f"device={device}"])


def test_bad_arguments_name_the_argument(run_dir: Path) -> None:
    with pytest.raises(UserError, match="unknown argument colour"):
        sample.main([f"run_dir={run_dir}", "colour=red"])
    with pytest.raises(UserError, match="^n: "):
        sample.main([f"run_dir={run_dir}", "n=many"])
    with pytest.raises(UserError, match="run_dir= is required"):
        evaluate.main([])
    with pytest.raises(UserError, match="n and batch_size must be positive"):
        sample.main([f"run_dir={run_dir}", "n=0"])


def test_a_run_keeps_its_best_generator_and_both_commands_use_it(broken: Path,
                                                                 tmp_path: Path) -> None:
    best = json.loads((broken / "metrics.json").read_text())["best"]
    assert best["objective"] == "fid" and best["checkpoint"] == "best.pt"
    assert best["step"] in (0, 29)  # the run's two evaluations: the first, and after the last
    # Make the last generator a useless one, so the best must come from best.pt.
    state = torch.load(broken / "checkpoint.pt", weights_only=False)
    state["generator"] = {name: torch.zeros_like(value)
                          for name, value in state["generator"].items()}
    torch.save(state, broken / "checkpoint.pt")
    evaluate.main([f"run_dir={broken}", "checkpoint=best"])
    scores = json.loads((broken / "eval_best.json").read_text())
    assert scores["checkpoint"] == "best" and scores["steps"] == best["step"] + 1
    assert scores["fid"] == pytest.approx(best["value"], rel=1e-4)  # same noise, same G
    assert (broken / "eval_best_class_histogram.png").is_file()
    sample.main([f"run_dir={broken}", "n=20", "checkpoint=best"])
    assert (broken / "samples" / "sampled_n20_seed0_best.npy").is_file()


@pytest.mark.parametrize("main", [sample.main, evaluate.main])
def test_best_of_a_run_without_evaluation_and_other_checkpoints_are_refused(
        main, broken: Path, tmp_path: Path) -> None:
    (broken / "best.pt").unlink()
    with pytest.raises(UserError, match="has no best.pt: none of its evaluations scored its "
                                        "objective"):
        main([f"run_dir={broken}", "checkpoint=best"])  # it evaluated: no score was the best
    unevaluated = tmp_path / "run"
    shutil.copytree(broken, unevaluated)
    config = OmegaConf.load(unevaluated / "config.yaml")
    config.eval.every = 0
    OmegaConf.save(config, unevaluated / "config.yaml")
    with pytest.raises(UserError, match="has no best.pt: it keeps its best generator only "
                                        "where it evaluates"):
        main([f"run_dir={unevaluated}", "checkpoint=best"])
    with pytest.raises(UserError, match="checkpoint must be one of last, best, got 'first'"):
        main([f"run_dir={broken}", "checkpoint=first"])
