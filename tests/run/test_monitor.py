"""The monitor: TensorBoard events in the run directory, a progress bar only on a terminal."""

import contextlib
import io
import logging
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

from gan.run.monitor import Monitor


class FakeTerminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        """Pretend to be interactive."""
        return True


def test_scalars_and_images_land_in_the_run_directory(tmp_path: Path) -> None:
    monitor = Monitor(tmp_path, total_steps=10)
    monitor.scalars(0, {"loss/generator": 1.5})
    monitor.image("samples", torch.rand(3, 8, 8), 0)
    monitor.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert events.Scalars("loss/generator")[0].value == 1.5
    assert events.Tags()["images"] == ["samples"]


def test_no_bar_in_a_non_interactive_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         caplog: pytest.LogCaptureFixture) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    monitor = Monitor(tmp_path, total_steps=10)
    with caplog.at_level(logging.INFO):
        monitor.advance(5)
        monitor.print("Epoch:5 Generator Loss:1 Discriminator Loss:2")
    monitor.close()
    assert stderr.getvalue() == ""
    assert "Epoch:5 Generator Loss:1 Discriminator Loss:2" in caplog.text


def test_bar_on_a_terminal_shows_rate_and_losses(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monitor = Monitor(tmp_path, total_steps=10)
    monitor.advance(10)
    monitor.losses(g_loss=2.5, d_loss=0.25)
    monitor.close()
    shown = terminal.getvalue()
    assert "10/10" in shown and "step/s" in shown
    assert "g_loss=2.5000" in shown and "d_loss=0.2500" in shown


def hparams_records(run_dir: Path) -> dict[str, bytes]:
    """The HParams plugin's records in a run directory's event files, by tag."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    records = {}
    for path in run_dir.glob("events.out.tfevents.*"):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "hparams":
                    records[value.tag] = value.metadata.plugin_data.content
    return records


@pytest.mark.parametrize(("error", "status"), [
    (None, "STATUS_SUCCESS"), (ValueError, "STATUS_FAILURE"),
    (KeyboardInterrupt, "STATUS_FAILURE")])
def test_hyperparameters_and_end_status_go_into_the_run_itself(
        tmp_path: Path, error: type[BaseException] | None, status: str) -> None:
    with contextlib.suppress(ValueError, KeyboardInterrupt), Monitor(tmp_path, 10) as monitor:
        monitor.hyperparameters({"lr.generator": 2e-4, "discriminator": "cnn"})
        monitor.scalars(0, {"loss/generator": 1.0})
        if error is not None:
            raise error
    records = hparams_records(tmp_path)
    start = HParamsPluginData.FromString(records["_hparams_/session_start_info"])
    assert start.session_start_info.hparams["lr.generator"].number_value == 2e-4
    assert start.session_start_info.hparams["discriminator"].string_value == "cnn"
    end = HParamsPluginData.FromString(records["_hparams_/session_end_info"])
    assert end.session_end_info.status == api_pb2.Status.Value(status)
    # One run: a single event file, no sub-run per session (add_hparams would make one).
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 1
    assert not [path for path in tmp_path.iterdir() if path.is_dir()]
