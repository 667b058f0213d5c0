"""The monitor: TensorBoard events in the run directory, a progress bar only on a terminal."""

import io
import logging
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from gan.monitor import Monitor


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
