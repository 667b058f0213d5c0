"""Which runs may share a stack: they differ only in what each run of a stack has its own."""

from collections.abc import Callable

import pytest
import torch
from omegaconf import DictConfig

from gan.core.stacking.step import RunRandom, stack, why_not_stacked
from gan.run.build import build_step
from gan.run.config import options
from gan.run.stacked import stack_key
from gan.sweep.stacked_launcher import stacks
from tests.fakes import with_needs

# What the README says stacks, and what does not (each part's `not_stackable` decides).
STACKING = {"feature_matching", "gradient_penalty", "r1", "r2", "ema", "label_smoothing", "packing",
            "minibatch_discrimination", "balance"}
NOT_STACKING = {"batch_norm", "spectral_norm", "historical_averaging", "diff_augment", "slot_norm"}


@pytest.mark.parametrize("other", [
    ("train.seed=3",), ("optimizer.lr=1e-3",), ("lr.generator=1e-3", "lr.discriminator=3e-4"),
    ("optimizer.betas=[0.5,0.9]",), ("eval.objective=class_kl",)])
def test_per_run_settings_do_not_part_runs(make_cfg: Callable[..., DictConfig],
                                           other: tuple[str, ...]) -> None:
    assert stack_key(make_cfg(*other)) == stack_key(make_cfg())


@pytest.mark.parametrize("other", [
    ("discriminator=cnn",), ("remedy=[r1]",), ("train.steps=10",), ("train.batch_size=64",),
    ("loss=hinge",), ("step=alternating",)])
def test_everything_else_parts_them(make_cfg: Callable[..., DictConfig],
                                    other: tuple[str, ...]) -> None:
    assert stack_key(make_cfg(*other)) != stack_key(make_cfg())


@pytest.mark.parametrize("other", [
    ("remedy.r1.gamma=1",), ("remedy.gradient_penalty.weight=1",), ("remedy.ema.decay=0.9",),
    ("remedy.feature_matching.weight=0.5",)])
def test_remedies_say_which_of_their_settings_are_per_run(make_cfg: Callable[..., DictConfig],
                                                          other: tuple[str, ...]) -> None:
    remedies = "remedy=[r1,gradient_penalty,ema,feature_matching]"
    assert stack_key(make_cfg(remedies, *other)) == stack_key(make_cfg(remedies))
    assert (stack_key(make_cfg(remedies, "remedy.feature_matching.replace=true"))
            != stack_key(make_cfg(remedies)))


def test_groups_keep_the_jobs_order_and_the_cap(make_cfg: Callable[..., DictConfig]) -> None:
    configs = [make_cfg(f"train.seed={seed}", f"discriminator={network}")
               for network in ("fc", "cnn") for seed in range(3)]
    assert stacks(configs, max_stack=16) == [[0, 1, 2], [3, 4, 5]]
    assert stacks(configs, max_stack=2) == [[0, 1], [2], [3, 4], [5]]



def test_the_readmes_lists_of_what_stacks_cover_every_remedy() -> None:
    assert set(options("remedy")) == STACKING | NOT_STACKING


@pytest.mark.parametrize("remedy", sorted(STACKING | NOT_STACKING))
def test_each_remedy_stacks_as_the_readme_says(make_cfg: Callable[..., DictConfig],
                                               remedy: str) -> None:
    runs = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        selection, needs = with_needs([remedy])  # slot_norm: with packing and batch_norm
        runs.append(build_step(make_cfg(selection, *needs, "train.batch_size=8"),
                               torch.device("cpu")))
    assert (why_not_stacked(runs[0]) is None) == (remedy in STACKING)
    if remedy in STACKING:  # two steps of two stacked runs
        stacked = stack(runs, RunRandom(2, torch.device("cpu")))
        for _ in range(2):
            output = stacked(torch.rand(2, 8 * stacked.real_batches, 1, 28, 28),
                             torch.rand(2, 8 * stacked.noise_batches, 100))
        assert torch.isfinite(output.d_loss).all() and output.d_loss.shape == (2,)


@pytest.mark.parametrize("network", ["generator=dcgan", "discriminator=dcgan"])
def test_batch_norm_networks_do_not_stack(make_cfg: Callable[..., DictConfig],
                                          network: str) -> None:
    step = build_step(make_cfg(network), torch.device("cpu"))
    assert "BatchNorm" in why_not_stacked(step)
