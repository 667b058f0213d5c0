"""`python train.py` as a user runs it: console output, presets, sweeps, errors. Each test runs
the command in this process (the fast tier: `train.command_line`, seconds cheaper) and, in the
slow tier, in a subprocess of its own."""

import json
import os
import re
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from tests.conftest import REPO, compose_config, train_command

Train = Callable[..., subprocess.CompletedProcess]


def evaluation_off(args: tuple[str, ...]) -> tuple[str, ...]:
    """ARGS with `eval.every=0` added where they set no evaluation of their own: an evaluation
    costs seconds and these tests are not about it. A sweep (`-m`) keeps ARGS as they are (its
    jobs' directory names hold every override), and so does a resume (the run's own settings)."""
    if any(arg.startswith(("eval.", "-", "resume=")) for arg in args):
        return args
    return (*args, "eval.every=0")


def train(*args: str, data_root: Path | str, cwd: Path,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run train.py in a subprocess with the data root in GAN_DATA_DIR (and `env` added), with
    evaluation off unless ARGS set it (`evaluation_off`). The slow tier's tests import it."""
    env = {**os.environ, "GAN_DATA_DIR": str(data_root), "HYDRA_FULL_ERROR": "0", **(env or {})}
    return subprocess.run([sys.executable, str(REPO / "train.py"), *evaluation_off(args)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def train_in_process(*args: str, data_root: Path | str, cwd: Path, env: dict[str, str] | None,
                     monkeypatch: pytest.MonkeyPatch,
                     capfd: pytest.CaptureFixture) -> subprocess.CompletedProcess:
    """`train` in this process: what the interpreter would do with the exit
    (`sys.exit("error: ...")` prints the line and exits 1, an uncaught exception prints its
    traceback and exits 1) becomes the returned code and stderr."""
    for name, value in {"GAN_DATA_DIR": str(data_root), "HYDRA_FULL_ERROR": "0",
                        **(env or {})}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(cwd)
    capfd.readouterr()  # what came before is not this command's
    args = evaluation_off(args)
    try:
        code = train_command(*args)
    except Exception:
        traceback.print_exc()
        code = 1
    out, err = capfd.readouterr()
    if isinstance(code, str):
        err, code = err + code + "\n", 1
    return subprocess.CompletedProcess(["train.py", *args], code or 0, out, err)


@pytest.fixture(name="train",
                params=["in_process", pytest.param("subprocess", marks=pytest.mark.slow)])
def train_either(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                 capfd: pytest.CaptureFixture) -> Train:
    """`train(*ARGS, data_root=, cwd=, env=None)`: `python train.py ARGS` from `cwd`, its exit code,
    stdout and stderr; in this process, and in a subprocess in the slow tier."""
    if request.param == "subprocess":
        return train

    def run(*args: str, data_root: Path | str, cwd: Path,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return train_in_process(*args, data_root=data_root, cwd=cwd, env=env,
                                monkeypatch=monkeypatch, capfd=capfd)
    return run


def test_cli_run_prints_the_seeds_lines_and_fills_the_run_dir(train: Train, data_root: Path,
                                                              tmp_path: Path) -> None:
    result = train("train.steps=21", "train.print_every=10", "train.device=cpu",
                   f"hydra.run.dir={tmp_path / 'run'}", data_root=data_root, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("Epoch:")]
    assert [line.split()[0] for line in lines] == ["Epoch:0", "Epoch:10", "Epoch:20"]
    assert "Generator Loss:" in lines[0] and "Discriminator Loss:" in lines[0]
    assert "Final: Generator Loss:" in result.stdout
    run_dir = tmp_path / "run"
    for name in ("metrics.json", "checkpoint.pt", "samples/final/9.png", ".hydra/config.yaml"):
        assert (run_dir / name).exists(), name
    assert list(run_dir.glob("events.out.tfevents.*"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # nothing else in the cwd


def test_help_lists_what_train_py_accepts(train: Train, tmp_path: Path) -> None:
    result = train("--help", data_root=tmp_path, cwd=REPO)  # no data needed
    assert result.returncode == 0
    text = result.stdout
    for said in ("-m", "resume=RUN_DIR", "hydra/launcher=joblib", "slurm",
                 "remedy: balance, batch_norm", "train.steps=40001", "optimisation steps",
                 "eval.objective=fid", "lr.generator=(as optimizer.lr)", "resume=null"):
        assert said in text, said
    assert "classifier:" not in text and "classifier.epochs" not in text  # gan.train_classifier's


def test_default_output_dir_is_under_outputs(train: Train, data_root: Path,
                                             tmp_path: Path) -> None:
    result = train("train.steps=2", "train.device=cpu", data_root=data_root, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(list(tmp_path.glob("outputs/*/*/metrics.json"))) == 1


@pytest.mark.slow  # a sweep
def test_sweep_names_each_job_dir_by_its_overrides(data_root: Path, tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    result = train("-m", "optimizer.lr=1e-4,5e-4", "train.steps=3", "train.device=cpu",
                   f"hydra.sweep.dir={sweep_dir}", data_root=data_root, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    jobs = sorted(p.name for p in sweep_dir.iterdir() if p.is_dir())
    # train.device is left out of the names (exclude_keys): it says where, not what.
    assert jobs == ["0_optimizer.lr=0.0001,train.steps=3", "1_optimizer.lr=0.0005,train.steps=3"]
    for job, lr in zip(jobs, ("0.0001", "0.0005"), strict=True):
        assert (sweep_dir / job / "metrics.json").exists()
        assert list((sweep_dir / job).glob("events.out.tfevents.*"))
        assert f"lr: {lr}" in (sweep_dir / job / ".hydra/config.yaml").read_text()


def test_missing_data_is_one_clear_paragraph(train: Train, tmp_path: Path) -> None:
    missing = tmp_path / "no-data"
    result = train("train.steps=2", "dataset.download=false", f"hydra.run.dir={tmp_path / 'r'}",
                   data_root=missing, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    error = result.stderr.strip()
    assert error.startswith("error: MNIST was not found under") and "\n" not in error
    assert str(missing) in error and "GAN_DATA_DIR" in error
    assert not missing.exists() and not (tmp_path / "r").exists()  # nothing made, nothing left


def test_a_failed_download_leaves_no_folders(train: Train, tmp_path: Path) -> None:
    missing = tmp_path / "no-data" / "deeper"
    result = train("train.steps=2", "dataset.download=true", f"dataset.root={missing}",
                   data_root=tmp_path / "unused", cwd=tmp_path)  # no network for MNIST here
    if result.returncode == 0:
        pytest.skip("this machine reached a MNIST mirror and downloaded it")
    assert result.stderr.strip().startswith("error: MNIST was not found under")
    assert list(tmp_path.iterdir()) == []  # no <root>/MNIST/raw, no outputs/


def test_impossible_setting_is_one_line(train: Train, data_root: Path, tmp_path: Path) -> None:
    result = train("train.batch_size=0", f"hydra.run.dir={tmp_path / 'r'}",
                   data_root=data_root, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip() == "error: train.batch_size must be positive, got 0"


def test_main_returns_the_objective_for_sweepers(data_root: Path, tmp_path: Path) -> None:
    import train as entry  # the module `python train.py` runs

    for objective in ("fid", "class_kl", "final_loss_d"):
        cfg = compose_config("train.steps=5", "train.device=cpu", "eval.every=5", "eval.n=300",
                             f"eval.objective={objective}", hydra=True)
        cfg.hydra.runtime.output_dir = str(tmp_path / objective)
        HydraConfig.instance().set_config(cfg)
        with open_dict(cfg):
            del cfg.hydra  # @hydra.main hands the task the config without it
        value = entry.main.__wrapped__(cfg)  # the function under @hydra.main
        metrics = json.loads((tmp_path / objective / "metrics.json").read_text())
        assert value == metrics[objective]


@pytest.mark.parametrize(("args", "expected"), [
    (["discriminator=foo"], "error: In 'config': Could not find 'discriminator/foo'. Available "
                            "options in 'discriminator': cnn, dcgan, fc, maxout, "
                            "unrolled_dcgan"),
    (["train.steps=abc"], "error: Error merging override train.steps=abc. Value 'abc' of type "
                          "'str' could not be converted to Integer"),
    (["train.stepz=3"], "error: train.stepz is not a setting gan-lab reads (did you mean "
                        "train.steps?)"),
    (["discriminator.filters=32"], "error: discriminator.filters is a setting of "
                                   "discriminator=cnn, not of discriminator=dcgan, fc "
                                   "(selected), maxout or unrolled_dcgan"),
    (["train.steps=-5"], "error: train.steps must be positive, got -5"),
    (["optimizer.lr=0"], "error: optimizer.lr must be positive and finite, got 0.0 "
                         "(lr.generator follows it unless set)"),
    (["lr.discriminator=-1e-4"], "error: lr.discriminator must be positive and finite, got "
                                 "-0.0001"),
    (["optimizer.lr=fast"], "error: optimizer.lr must be a float, got 'fast' (lr.generator "
                            "follows it unless set)"),
    (["+train.stepz=3"], "error: train.stepz is not a setting gan-lab reads (did you mean "
                         "train.steps?)"),
    (["remedy=[feature_match]"], "error: In 'config': Could not load 'remedy/feature_match'. "
                                   "Available options in 'remedy': balance, batch_norm, "
                                   "diff_augment, ema, feature_matching, gradient_penalty, "
                                   "historical_averaging, label_smoothing, "
                                   "minibatch_discrimination, packing, r1, r2, slot_norm, "
                                   "spectral_norm"),
    (["train.batch_size=100000"], "error: train.batch_size=100000 exceeds the 60000 training "
                                  "images"),
    (["resume={tmp}/missing"], "error: resume={tmp}/missing: run directory {tmp}/missing does "
                               "not exist"),
    (["resume={tmp}"], "error: resume={tmp}: {tmp} has no checkpoint.pt to continue from"),
    (["hydra.run.dir={tmp}/a-file/run"], "error: cannot write {tmp}/a-file/run: Not a "
                                        "directory")])
def test_bad_input_is_refused_with_one_line(train: Train, data_root: Path, tmp_path: Path,
                                            args: list[str], expected: str) -> None:
    (tmp_path / "a-file").write_text("in the way")
    args = [arg.format(tmp=tmp_path) for arg in args]
    run_dir = [] if any(a.startswith(("resume=", "hydra.run.dir=")) for a in args) else [
        f"hydra.run.dir={tmp_path / 'r'}"]
    result = train(*args, "train.device=cpu", *run_dir, data_root=data_root, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == expected.format(tmp=tmp_path)
    assert "Traceback" not in result.stdout
    # A single run refused before its first step leaves nothing behind (outputs/, r/, ...).
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a-file"]


@pytest.mark.parametrize(("args", "expected"), [
    (["discriminator=fc,cnn", "discriminator.filters=8"],  # the command
     "discriminator.filters is a setting of discriminator=cnn, not of discriminator=dcgan, fc "
     "(selected), maxout or unrolled_dcgan"),
    (["discriminator=fc,dcgan", "discriminator.hidden_dim=64"],  # the default fc has it
     "discriminator.hidden_dim is a setting of discriminator=cnn, fc and maxout, not of "
     "discriminator=dcgan (selected) or unrolled_dcgan")])
def test_a_sweep_over_options_without_a_key_is_refused_once_before_any_job(
        train: Train, data_root: Path, tmp_path: Path, args: list[str], expected: str) -> None:
    sweep_dir = tmp_path / "sweep"
    result = train("-m", *args, "train.steps=5", "eval.every=0", "train.device=cpu",
                   f"hydra.sweep.dir={sweep_dir}", data_root=data_root, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {expected}"
    assert "Traceback" not in result.stdout
    assert not [path for path in sweep_dir.glob("*") if path.is_dir()]  # no job started


def test_hydra_full_error_shows_the_traceback(train: Train, data_root: Path,
                                              tmp_path: Path) -> None:
    result = train("discriminator=foo", data_root=data_root, cwd=tmp_path,
                   env={"HYDRA_FULL_ERROR": "1"})
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "MissingConfigException" in result.stderr


def test_a_diverging_run_names_the_step_and_exits_non_zero(train: Train, data_root: Path,
                                                           tmp_path: Path) -> None:
    # An injected blow-up: SGD at lr 1e20 overflows the weights to inf, then NaN.
    result = train("optimizer=sgd", "optimizer.lr=1e20", "train.steps=100", "train.log_every=10",
                   "train.device=cpu", f"hydra.run.dir={tmp_path / 'r'}", data_root=data_root,
                   cwd=tmp_path)
    assert result.returncode == 1
    assert re.fullmatch(r"error: training diverged at step \d+: .* not finite \(NaN or inf\)",
                        result.stderr.strip())
    record = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert record["status"] == "diverged" and record["reason"] in result.stderr

