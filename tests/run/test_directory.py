"""A run directory is never used twice by mistake: a new run refuses one that holds a run,
`resume=` continues exactly the run or sweep it names, and a path is read as it is printed."""

import hashlib
import shlex
import shutil
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from gan.cli import literal_paths
from gan.errors import UserError
from gan.run.config import refuse_used
from gan.run.directory import hydra_quoted, resume_command, run_files
from gan.sweep.continuation import continued_argv
from tests.conftest import train_command

SHORT = ("train.steps=30", "eval.every=0", "train.print_every=1000", "train.device=cpu")


def fingerprint(directory: Path) -> dict[str, str]:
    """Every file under directory, by relative path, with a hash of its bytes."""
    return {str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(directory.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Path:
    """The issue's first command: 30 steps, seed 0, into runs/x (in a folder of its own)."""
    start = tmp_path_factory.mktemp("start")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(start)
        assert train_command(*SHORT, "train.seed=0", "hydra.run.dir=runs/x") is None
    return start / "runs" / "x"


def test_a_new_run_into_a_used_directory_is_refused_and_the_first_run_stays(
        first_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = fingerprint(first_run)
    monkeypatch.chdir(first_run.parents[1])
    said = train_command(*SHORT, "train.seed=1", "hydra.run.dir=runs/x")
    assert isinstance(said, str) and said.startswith(f"error: {first_run} already holds a run")
    assert "\n" not in said
    assert f"`python train.py resume={first_run}`" in said  # the command that continues it
    assert fingerprint(first_run) == before  # .hydra, metrics, checkpoint, events: byte for byte


def test_the_refused_commands_advice_continues_the_run(first_run: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # A sweep job's name, as a sweep prints it: `=` and `,` in the path, no quotes for Hydra.
    job = Path(shutil.copytree(first_run, tmp_path / "sweep" / "1_train.seed=1,train.steps=30"))
    monkeypatch.chdir(tmp_path)
    argv = shlex.split(resume_command(job))[2:]  # python train.py resume=...
    assert argv == [f"resume={job}"]
    assert train_command(*argv, "train.steps=40") is None
    assert '"steps": 40' in (job / "metrics.json").read_text()
    relative = train_command("resume=sweep/1_train.seed=1,train.steps=30", "train.steps=50")
    assert relative is None
    assert '"steps": 50' in (job / "metrics.json").read_text()


def test_resume_of_a_sweep_directory_without_m_is_refused(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    sweep = tmp_path / "multirun" / "2026-12-05" / "18-45-40"
    sweep.mkdir(parents=True)
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    monkeypatch.chdir(tmp_path)
    said = train_command("resume=multirun/2026-12-05/18-45-40", "train.steps=5")
    assert isinstance(said, str) and "is a sweep's directory, not a run's" in said
    assert f"`python train.py -m resume={sweep}`" in said
    assert sorted(path.name for path in tmp_path.iterdir()) == ["multirun"]  # no outputs/


def test_resume_of_a_run_with_m_is_refused_with_the_command_that_continues_it(
        tmp_path: Path) -> None:
    run_dir = tmp_path / "outputs" / "2026-12-05" / "18-37-48"
    run_dir.mkdir(parents=True)
    (run_dir / "checkpoint.pt").write_bytes(b"")
    with pytest.raises(UserError, match="is a run, not a sweep") as refused:
        continued_argv(["train.py", "-m", f"resume={run_dir}", "train.steps=5500"])
    assert f"`python train.py resume={run_dir} train.steps=5500`" in str(refused.value)
    with pytest.raises(UserError, match="does not exist"):
        continued_argv(["train.py", "-m", f"resume={tmp_path / 'nothing'}"])


def test_a_new_sweep_into_a_sweeps_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "multirun.yaml").write_text("hydra: {}\n")
    with pytest.raises(UserError, match="already holds a sweep") as refused:
        continued_argv(["train.py", "-m", "train.seed=0,1", f"hydra.sweep.dir={tmp_path}"])
    assert f"`python train.py -m resume={tmp_path}`" in str(refused.value)
    fresh = ["train.py", "-m", "train.seed=0,1", f"hydra.sweep.dir={tmp_path / 'new'}"]
    assert continued_argv(fresh) == fresh


def test_what_a_run_wrote_is_told_from_what_hydra_makes_as_a_job_starts(tmp_path: Path) -> None:
    assert run_files(tmp_path / "missing") == []
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "overrides.yaml").write_text("[]\n")
    (tmp_path / "train.log").write_text("")
    assert run_files(tmp_path) == []  # a job just started here
    refuse_used(tmp_path)
    (tmp_path / "train.log").write_text("Run directory: ...\n")
    (tmp_path / "config.yaml").write_text("train: {}\n")
    assert run_files(tmp_path) == []  # refused or stopped before its first step: trained nothing
    (tmp_path / "events.out.tfevents.1.host.2.0").write_bytes(b"")
    assert run_files(tmp_path) == ["events.out.tfevents.1.host.2.0"]
    with pytest.raises(UserError, match="no checkpoint to continue from: remove it"):
        refuse_used(tmp_path)  # a run killed before its first checkpoint


@pytest.mark.parametrize("path", ["/runs/x", "/m/1_train.seed=1,train.steps=20", "/a b/c",
                                  "/a'b", "/a\\b", "/a\\", "/~x#y&z"])
def test_a_path_given_to_resume_is_read_as_typed(path: str) -> None:
    parser = OverridesParser.create()
    assert parser.parse_override(f"resume={hydra_quoted(path)}").value() == path
    [word] = literal_paths([f"resume={path}"])
    assert parser.parse_override(word).value() == path
    kept = ["resume='/m/1_a=1'", "resume=null", "train.steps=5", "-m"]
    assert literal_paths(kept) == kept
