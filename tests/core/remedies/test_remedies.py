"""Each remedy does what it claims, and every combination composes, builds and trains."""

import itertools
import math
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig
from torch import nn

from gan.core.losses import BCELoss
from gan.core.objective import Objective
from gan.core.remedies import (
    EMA,
    FeatureMatching,
    HistoricalAveraging,
    MinibatchFeatures,
    MinibatchStddev,
)
from gan.core.step import AdversarialStep
from gan.errors import ConfigError
from gan.run.build import build_step
from gan.run.checkpoint import load_checkpoint
from gan.run.loop import run
from gan.run.saved import load_run
from tests.conftest import CONF_DIR
from tests.fakes import forward_of, with_needs

CPU = torch.device("cpu")
REMEDIES = sorted(path.stem for path in (CONF_DIR / "remedy").glob("*.yaml"))


def step_with(make_cfg: Callable[..., DictConfig], *remedies: str,
              overrides: tuple[str, ...] = ()) -> AdversarialStep:
    """A CPU step with these remedies selected (and what each needs beside it: `with_needs`)."""
    torch.manual_seed(0)
    selection, needs = with_needs(remedies)
    return build_step(make_cfg(selection, *needs, *overrides), CPU)


def call(step: AdversarialStep, batch: int = 8) -> None:
    """One call on random data of the sizes the step takes."""
    step(torch.rand(batch * step.real_batches, 1, 28, 28),
         torch.rand(batch * step.noise_batches, 100) * 2 - 1)


def test_the_six_remedies_ema_and_the_regularisers_are_options() -> None:
    assert set(REMEDIES) >= {"feature_matching", "minibatch_discrimination", "label_smoothing",
                             "historical_averaging", "batch_norm", "balance", "ema",
                             "gradient_penalty", "r1", "spectral_norm"}


def test_label_smoothing_changes_only_the_real_target() -> None:
    real, fake = torch.randn(6, requires_grad=True), torch.randn(6, requires_grad=True)
    gradients = []
    for target in (1.0, 0.9):
        loss = BCELoss(real_target=target).discriminator_loss(forward_of(real, fake))
        gradients.append(torch.autograd.grad(loss, [real, fake]))
        expected = (target * nn.functional.softplus(-real).mean()
                    + (1 - target) * nn.functional.softplus(real).mean()
                    + nn.functional.softplus(fake).mean())
        torch.testing.assert_close(loss, expected)
    assert not torch.allclose(gradients[0][0], gradients[1][0])  # real: a new target
    torch.testing.assert_close(gradients[0][1], gradients[1][1])  # fake: still 0


def test_label_smoothing_option_sets_the_loss(make_cfg: Callable[..., DictConfig]) -> None:
    assert step_with(make_cfg, "label_smoothing").objective.loss.real_target == 0.9
    assert step_with(make_cfg).objective.loss.real_target == 1.0
    smoother = step_with(make_cfg, "label_smoothing",
                         overrides=("remedy.label_smoothing.real_target=0.8",))
    assert smoother.objective.loss.real_target == 0.8  # the loss follows the remedy's setting


@pytest.mark.parametrize("layer", [MinibatchFeatures(16, kernels=4, dims=3), MinibatchStddev()])
def test_minibatch_layer_shape_and_dependence_on_the_batch(layer: nn.Module) -> None:
    features = torch.randn(5, 16)
    out = layer(features)
    assert out.shape == (5, 16 + layer.extra)
    changed = features.clone()
    changed[1:] += 1.0 * torch.randn(4, 16)  # same sample 0, different rest of the batch
    assert torch.equal(out[0, :16], layer(changed)[0, :16])
    assert not torch.allclose(out[0, 16:], layer(changed)[0, 16:])


def test_minibatch_discrimination_sits_before_the_logit(
        make_cfg: Callable[..., DictConfig]) -> None:
    step = step_with(make_cfg, "minibatch_discrimination", overrides=("discriminator=cnn",))
    assert isinstance(step.discriminator.batch_layer, MinibatchFeatures)
    assert step.discriminator.head.in_features == 256 + 50
    assert any(p is step.discriminator.batch_layer.tensor for p in step.d_parameters)


def test_historical_average_is_the_mean_of_past_parameters(
        make_cfg: Callable[..., DictConfig]) -> None:
    step = step_with(make_cfg, "historical_averaging",
                     overrides=("remedy.historical_averaging.networks=both", "optimizer=sgd"))
    remedy = next(r for r in step.remedies if isinstance(r, HistoricalAveraging))
    snapshots = [[p.detach().clone() for p in step.d_parameters]]
    for _ in range(4):
        call(step)
        snapshots.append([p.detach().clone() for p in step.d_parameters])
    for index, (_, average) in enumerate(remedy.averages["discriminator"]):
        expected = torch.stack([snapshot[index] for snapshot in snapshots]).mean(dim=0)
        torch.testing.assert_close(average, expected)
    assert "generator" in remedy.averages


def test_historical_averaging_penalises_distance_from_the_average() -> None:
    remedy = HistoricalAveraging(weight=0.5)
    parameter = nn.Parameter(torch.tensor([3.0]))
    remedy.averages["discriminator"] = [(parameter, torch.tensor([1.0]))]
    terms = remedy.discriminator_terms(forward_of())
    assert list(terms) == ["historical_averaging_d"]
    assert float(terms["historical_averaging_d"].detach()) == pytest.approx(0.5 * 4.0)
    assert remedy.generator_terms(forward_of()) == {}  # G's network was not chosen


def test_d_steps_2_makes_two_d_updates_per_g_update(make_cfg: Callable[..., DictConfig]) -> None:
    step = step_with(make_cfg, "balance", overrides=("remedy.balance.d_steps=2",))
    assert (step.real_batches, step.noise_batches) == (2, 2)
    call(step)
    assert step.d_optimizer.state_dict()["state"][0]["step"] == 2
    assert step.g_optimizer.state_dict()["state"][0]["step"] == 1


def test_balance_with_two_time_scales(make_cfg: Callable[..., DictConfig]) -> None:
    step = step_with(make_cfg, "balance", overrides=("lr.discriminator=0.0004",
                                                     "lr.generator=0.0001"))
    assert step.d_optimizer.param_groups[0]["lr"] == 0.0004
    assert step.g_optimizer.param_groups[0]["lr"] == 0.0001


@pytest.mark.parametrize("discriminator", ["fc", "cnn"])
def test_batch_norm_layers_are_where_configured(make_cfg: Callable[..., DictConfig],
                                                discriminator: str) -> None:
    def norms(network: nn.Module) -> int:
        return sum(isinstance(m, nn.BatchNorm1d) for m in network.modules())

    both = step_with(make_cfg, "batch_norm", overrides=(f"discriminator={discriminator}",))
    assert (norms(both.generator), norms(both.discriminator)) == (1, 1)
    only_d = step_with(make_cfg, "batch_norm", overrides=(
        f"discriminator={discriminator}", "remedy.batch_norm.generator=false"))
    assert (norms(only_d.generator), norms(only_d.discriminator)) == (0, 1)
    assert norms(step_with(make_cfg).generator) == 0


def test_feature_matching_is_zero_when_features_match() -> None:
    features = torch.randn(8, 4)
    assert float(FeatureMatching.distance(features, features)) == 0.0
    shuffled = features[torch.randperm(8)]  # same batch mean
    assert float(FeatureMatching.distance(features, shuffled)) == pytest.approx(0.0, abs=1e-6)
    assert float(FeatureMatching.distance(features, features + 1.0)) == pytest.approx(4.0)


def test_feature_matching_adds_to_or_replaces_the_generator_loss() -> None:
    forward = forward_of(fake_logits=torch.zeros(2))._replace(
        real_features=torch.zeros(2, 3), fake_features=torch.ones(2, 3))
    adversarial = float(BCELoss().generator_loss(forward))  # log 2
    added = Objective(BCELoss(), [FeatureMatching(weight=2.0)]).generator_loss(forward)
    assert float(added.total) == pytest.approx(adversarial + 6.0)
    assert float(added.adversarial) == pytest.approx(adversarial)
    assert {name: float(value) for name, value in added.terms.items()} == {"feature_matching": 6.0}
    replaced = Objective(BCELoss(), [FeatureMatching(replace=True)]).generator_loss(forward)
    assert float(replaced.total) == 3.0 and list(replaced.terms) == ["feature_matching"]
    assert float(replaced.adversarial) == pytest.approx(adversarial)  # reported, not counted
    # replace takes the adversarial loss's place only: another remedy's term still counts,
    # whatever the order the remedies are listed in.
    averaging = HistoricalAveraging(weight=0.5, networks="generator")
    averaging.averages["generator"] = [(torch.tensor([3.0]), torch.tensor([1.0]))]
    for order in ([averaging, FeatureMatching(replace=True)],
                  [FeatureMatching(replace=True), averaging]):
        loss = Objective(BCELoss(), order).generator_loss(forward)
        assert float(loss.total) == 3.0 + 2.0
        assert set(loss.terms) == {"feature_matching", "historical_averaging_g"}
    assert FeatureMatching().discriminator_terms(forward) == {}


def test_ema_averages_the_generator_and_is_what_samples_come_from(
        make_cfg: Callable[..., DictConfig]) -> None:
    step = step_with(make_cfg, "ema", overrides=("remedy.ema.decay=0.5",))
    remedy = next(r for r in step.remedies if isinstance(r, EMA))
    before = [p.detach().clone() for p in step.generator.parameters()]
    call(step)
    for average, old, new in zip(remedy.generator.parameters(), before,
                                 step.generator.parameters(), strict=True):
        torch.testing.assert_close(average, 0.5 * old + 0.5 * new)
    assert remedy.sampler() is remedy.generator


@pytest.mark.slow
@pytest.mark.parametrize("discriminator", ["fc", "cnn", "dcgan"])
def test_every_combination_composes_builds_and_trains(make_cfg: Callable[..., DictConfig],
                                                      discriminator: str) -> None:
    # Every remedy alone, every pair, and all of them at once (all subsets would be 2^n builds).
    sets = [(), *itertools.combinations(REMEDIES, 1), *itertools.combinations(REMEDIES, 2),
            tuple(REMEDIES)]
    for remedies in sets:
        step = step_with(make_cfg, *remedies, overrides=(f"discriminator={discriminator}",))
        for _ in range(2):
            call(step, batch=4)
        losses = step.losses(torch.rand(4, 1, 28, 28), torch.rand(4, 100))
        assert all(math.isfinite(value) for value in losses.values()), remedies


@pytest.mark.usefixtures("data_root")
def test_an_ema_runs_checkpoint_samples_from_the_average(make_cfg: Callable[..., DictConfig],
                                                         tmp_path: Path) -> None:
    run(make_cfg("remedy=ema", "remedy.ema.decay=0.5", "train.steps=5", "train.device=cpu"),
        tmp_path)
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert not torch.equal(state["sampler"]["net.0.weight"], state["generator"]["net.0.weight"])
    loaded = load_run(tmp_path, CPU).generator
    torch.testing.assert_close(loaded.state_dict()["net.0.weight"],
                               state["sampler"]["net.0.weight"])


@pytest.mark.usefixtures("data_root")
def test_a_run_without_ema_keeps_one_copy_of_the_generator(
        make_cfg: Callable[..., DictConfig], tmp_path: Path) -> None:
    run(make_cfg("train.steps=2", "train.device=cpu"), tmp_path)
    assert "sampler" not in load_checkpoint(tmp_path / "checkpoint.pt")


def test_historical_averages_round_trip_in_place(make_cfg: Callable[..., DictConfig]) -> None:
    step = step_with(make_cfg, "historical_averaging", overrides=(
        "remedy.historical_averaging.networks=both",))
    remedy = step.remedies[0]
    call(step)
    saved = {key: (value.clone() if isinstance(value, torch.Tensor) else
                   [average.clone() for average in value])
             for key, value in remedy.state_dict().items()}
    held = [average for _, average in remedy.averages["generator"]]
    call(step)  # the averages move on
    remedy.load_state_dict(saved)
    assert float(remedy.count) == 2.0
    now = [average for _, average in remedy.averages["generator"]]
    assert all(a is b for a, b in zip(now, held, strict=True))  # the same tensors, refilled
    assert all(torch.equal(a, b) for a, b in zip(held, saved["generator"], strict=True))


LOSSES = sorted(path.stem for path in (CONF_DIR / "loss").glob("*.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("loss", LOSSES)
def test_every_remedy_composes_with_every_loss_or_is_refused_in_one_line(
        make_cfg: Callable[..., DictConfig], loss: str) -> None:
    for remedy in REMEDIES:
        try:
            step = step_with(make_cfg, remedy, overrides=(f"loss={loss}",
                                                          "discriminator=dcgan"))
        except ConfigError as refusal:  # a loss without a real target: label smoothing
            assert remedy == "label_smoothing" and "\n" not in str(refusal)
            continue
        call(step, batch=4)
        losses = step.losses(torch.rand(4, 1, 28, 28), torch.rand(4, 100))
        assert all(math.isfinite(value) for value in losses.values()), (loss, remedy)
