"""The package's layers: the import contract holds, the objective's records import nothing else of
the package, a command that only samples loads neither the loop nor TensorBoard, the report
commands load neither torch nor Hydra, and a single run never loads the sweep's code."""

import ast
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "gan"


def gan_imports(path) -> set[str]:
    """The gan modules a source file imports (at any depth, TYPE_CHECKING blocks included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name == "gan" or name.startswith("gan.")}


@pytest.mark.skipif(shutil.which("lint-imports") is None, reason="import-linter not installed")
def test_the_layer_contracts_hold() -> None:
    result = subprocess.run(["lint-imports"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_objective_and_its_records_import_nothing_else_from_the_package() -> None:
    # Forward and Loss live there: every loss and remedy reads them without importing the step.
    assert gan_imports(PACKAGE / "core" / "objective.py") == set()


def test_no_module_of_the_package_hides_behind_type_checking() -> None:
    # A gan import under TYPE_CHECKING hides a cycle from the linter; an optional package's
    # types there (Optuna's) are fine.
    hidden = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                hidden += [str(path.relative_to(REPO)) for child in node.body
                           if "gan" in ast.unparse(child).split()[1].split(".")[:1]]
    assert hidden == []


def test_sampling_loads_neither_the_loop_nor_tensorboard() -> None:
    probe = ("import sys, gan.sample, gan.evaluate; print(sorted(m for m in sys.modules if "
             "m.startswith(('gan.run.loop', 'gan.run.monitor', 'tensorboard', "
             "'torch.utils.tensorboard'))))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


REPORT_COMMANDS = ("gan.runs", "gan.study", "gan.archive")


def test_the_report_commands_load_neither_torch_nor_hydra() -> None:
    # Every module of gan.report and the commands on it, imported as `python -m gan.runs` does:
    # what only reads run directories starts at once.
    modules = [*REPORT_COMMANDS, *(f"gan.report.{path.stem}" for path in
                                   (PACKAGE / "report").glob("*.py") if path.stem != "__init__")]
    probe = (f"import sys, {', '.join(modules)}; print(sorted({{m.split('.')[0] for m in "
             "sys.modules} & {'torch', 'hydra', 'omegaconf', 'tensorboard'}))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_single_run_never_loads_the_sweep_code(tmp_path, data_root) -> None:
    # `python train.py` (no -m) from argv to its last step, then what it imported; Hydra's
    # plugins and callbacks (hydra_plugins/gan_lab) hand sweeps to gan.sweep only when one runs.
    probe = ("import sys, train\n"
             f"sys.argv = ['train.py', 'train.steps=2', 'eval.every=0', 'dataset.root={data_root}',"
             f" 'hydra.run.dir={tmp_path / 'run'}']\n"
             "train.command_line()\n"
             "print(sorted(m for m in sys.modules if m.startswith(('gan.sweep', 'optuna'))))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "run" / "metrics.json").is_file()
