"""Batch norm per packed slot (remedy=slot_norm): the same numbers as PacGAN's code, which runs G
once per slot, for a layer and for the 2D mixtures' generator; the plain layer in eval mode and
in a checkpoint; refused, in one line, where nothing is packed or G has no batch norm."""

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig
from torch import nn

from gan.core.mlp import MaxoutDiscriminator, MLPGenerator
from gan.core.remedies import EMA, SlotNorm
from gan.core.remedies.slot_norm import PerSlot, normalise_per_slot
from gan.errors import ConfigError
from gan.run.build import build_step
from tests.conftest import train_command


def slot_by_slot(network: nn.Module, x: torch.Tensor, slots: int) -> tuple[torch.Tensor,
                                                                           list[nn.Module]]:
    """PacGAN's way: one call of a fresh copy per slot (sample n = i * slots + j in slot j),
    the outputs put back in place; the copies, to read their running statistics."""
    copies = [copy.deepcopy(network) for _ in range(slots)]
    outputs = torch.stack([c(x[j::slots]) for j, c in enumerate(copies)], dim=1)  # (N / m, m, ...)
    return outputs.reshape(x.shape[0], *outputs.shape[2:]), copies


@pytest.mark.parametrize(("layer", "shape"), [(nn.BatchNorm1d(3, momentum=0.05), (12, 3)),
                                              (nn.BatchNorm2d(4, momentum=0.1), (12, 4, 5, 5))])
def test_a_layer_normalises_each_slot_as_its_own_call_would(layer: nn.Module,
                                                            shape: tuple[int, ...]) -> None:
    torch.manual_seed(0)
    nn.init.uniform_(layer.weight)
    nn.init.uniform_(layer.bias)
    plain = copy.deepcopy(layer)
    normalise_per_slot(layer, 3)
    x = torch.randn(shape) * 2 + 1
    out = layer(x)
    expected, copies = slot_by_slot(plain, x, 3)
    torch.testing.assert_close(out, expected)
    # The running statistics: the slots' updates from one old value, averaged (PacGAN's merge).
    for name in ("running_mean", "running_var"):
        averaged = torch.stack([getattr(c, name) for c in copies]).mean(0)
        torch.testing.assert_close(getattr(layer, name), averaged)
    # One scale and shift for all slots: its gradient is the slots' summed.
    grads = torch.autograd.grad(out.square().sum(), [layer.weight, layer.bias])
    for j, alone in enumerate(copy.deepcopy(plain) for _ in range(3)):
        slot = torch.autograd.grad(alone(x[j::3]).square().sum(), [alone.weight, alone.bias])
        grads = [total - part for total, part in zip(grads, slot, strict=True)]
    for rest in grads:  # what is left once every slot's own gradient is taken away
        torch.testing.assert_close(rest, torch.zeros_like(rest), atol=1e-4, rtol=0)


def test_the_mixtures_generator_makes_what_pacgans_per_slot_calls_make() -> None:
    torch.manual_seed(0)
    generator = MLPGenerator()
    reference = copy.deepcopy(generator)
    assert normalise_per_slot(generator, 2) == 4  # its four hidden layers' batch norm
    z = torch.randn(200, 2)  # PacGAN2's step: 100 packed samples of 2 points
    expected, _ = slot_by_slot(reference, z, 2)
    torch.testing.assert_close(generator(z), expected)
    joint = reference(z)  # gan-lab's packing: one batch norm over all 200 points
    assert not torch.allclose(joint, expected)


def test_eval_mode_and_the_checkpoint_are_the_plain_layers() -> None:
    torch.manual_seed(0)
    generator = MLPGenerator()
    plain = copy.deepcopy(generator)
    parameters = list(generator.parameters())
    normalise_per_slot(generator, 4)
    assert all(p is q for p, q in zip(parameters, generator.parameters(), strict=True))
    assert generator.state_dict().keys() == plain.state_dict().keys()
    z = torch.randn(8, 2)
    torch.testing.assert_close(generator.eval()(z), plain.eval()(z))
    assert sum(isinstance(m, PerSlot) for m in generator.modules()) == 4


def test_a_batch_that_does_not_split_into_the_slots_is_refused() -> None:
    layer = nn.BatchNorm1d(3)
    normalise_per_slot(layer, 4)
    with pytest.raises(ValueError, match="does not split into 4 slots"):
        layer(torch.randn(10, 3))


def test_slot_norm_without_packing_or_batch_norm_is_refused() -> None:
    with pytest.raises(ConfigError, match="D packs none: add remedy=packing"):
        SlotNorm().attach(MLPGenerator(), MaxoutDiscriminator())
    with pytest.raises(ConfigError, match=r"MLPGenerator has none \(remedy=batch_norm adds"):
        SlotNorm().attach(MLPGenerator(batch_norm=False), MaxoutDiscriminator(packing=2))


def test_the_option_normalises_a_packed_runs_generator_per_slot(
        make_cfg: Callable[..., DictConfig]) -> None:
    cfg = make_cfg("experiment=ring8", "setup=pacgan2", "remedy=[packing,slot_norm]")
    step = build_step(cfg, torch.device("cpu"))
    layers = [m for m in step.generator.modules() if isinstance(m, nn.BatchNorm1d)]
    assert layers and all(isinstance(m, PerSlot) and m.slots == 2 for m in layers)
    step(torch.randn(200, 2), torch.randn(200, 2))  # one step: 100 packed samples of 2 points
    plain = build_step(make_cfg("experiment=ring8", "setup=pacgan2"), torch.device("cpu"))
    assert not any(isinstance(m, PerSlot) for m in plain.generator.modules())


@pytest.mark.parametrize("order", ["packing,slot_norm,ema", "packing,ema,slot_norm"])
def test_an_ema_average_is_sampled_with_plain_batch_norm_in_either_order(
        make_cfg: Callable[..., DictConfig], order: str) -> None:
    step = build_step(make_cfg("experiment=ring8", "setup=pacgan3", f"remedy=[{order}]"),
                      torch.device("cpu"))
    (ema,) = [r for r in step.remedies if isinstance(r, EMA)]
    assert any(isinstance(m, PerSlot) for m in step.generator.modules())  # trained per slot
    assert not any(isinstance(m, PerSlot) for m in ema.generator.modules())  # sampled plain
    ema.before_sampling()  # standing statistics on batches of 128, which 3 slots do not split


def test_slot_norm_without_packing_fails_before_training_in_one_line(tmp_path: Path) -> None:
    assert train_command("experiment=ring8", "remedy=slot_norm", "train.steps=1",
                         f"hydra.run.dir={tmp_path / 'r'}") == (
        "error: remedy=slot_norm normalises G's samples per packed slot, and D packs none: add "
        "remedy=packing (or a setup=pacgan2 ... preset)")
