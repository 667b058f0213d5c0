"""The fast path computes what the plain eager step computes, on the CPU and (when there is
one) as a replayed CUDA graph."""

import math
import os
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig
from torch import nn

from gan.core.layers import SameConv2d
from gan.core.objective import Labels
from gan.core.step import AdversarialStep
from gan.run import acceleration
from gan.run.acceleration import (
    DEFAULT_THREADS,
    CudaGraphStep,
    fast_optimizer,
    free_cores,
    keep_freed_memory,
    set_threads,
    threads_for_now,
)
from gan.run.build import build_step
from gan.run.config import options
from gan.run.loop import settle
from tests.fakes import with_needs

CPU = torch.device("cpu")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def plain_copy(step: AdversarialStep) -> AdversarialStep:
    """The same networks and weights, with PyTorch's own Conv2d and an unfused optimizer."""
    generator, discriminator = (_plain(network) for network in (step.generator,
                                                                step.discriminator))
    optimizer = type(step.g_optimizer)
    options = {key: step.g_optimizer.defaults[key] for key in ("lr", "betas", "momentum")
               if key in step.g_optimizer.defaults}
    return type(step)(generator, discriminator,
                      optimizer(generator.parameters(), foreach=False, **options),
                      optimizer(discriminator.parameters(), foreach=False, **options),
                      step.objective)


def _plain(network: nn.Module) -> nn.Module:
    """A deep copy in NCHW with each SameConv2d replaced by an nn.Conv2d of the same weights."""
    copy = _deepcopy(network).to(memory_format=torch.contiguous_format)
    for name, module in list(copy.named_modules()):
        if isinstance(module, SameConv2d):
            plain = nn.Conv2d(module.in_channels, module.out_channels, module.kernel_size,
                              padding="same").to(module.weight.device)
            plain.load_state_dict(module.state_dict())
            parent, _, child = name.rpartition(".")
            setattr(copy.get_submodule(parent), child, plain)
    return copy


def _deepcopy(network: nn.Module) -> nn.Module:
    """copy.deepcopy, kept beside its one use."""
    import copy

    return copy.deepcopy(network)


def batches(count: int, device: torch.device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """count seeded (real (8, 1, 28, 28), z (8, 100)) pairs."""
    generator = torch.Generator().manual_seed(1)
    return [(torch.rand(8, 1, 28, 28, generator=generator).to(device),
             (torch.rand(8, 100, generator=generator) * 2 - 1).to(device))
            for _ in range(count)]


def run(step: Callable, inputs: list[tuple[torch.Tensor, torch.Tensor]]) -> list[list[float]]:
    """The (G, D) losses of each step."""
    return [torch.stack([out.g_loss, out.d_loss]).tolist()
            for out in (step(real, z) for real, z in inputs)]


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
@pytest.mark.parametrize("overrides", [("discriminator=fc",), ("discriminator=cnn",),
                                       ("discriminator=cnn", "step=alternating")])
def test_fast_cpu_step_matches_the_plain_eager_step(make_cfg: Callable[..., DictConfig],
                                                    overrides: tuple[str, ...],
                                                    optimizer: str) -> None:
    torch.manual_seed(0)
    fast = build_step(make_cfg(*overrides, f"optimizer={optimizer}", "optimizer.lr=0.001"), CPU)
    plain = plain_copy(fast)
    assert fast.g_optimizer.defaults["fused"] and not plain.g_optimizer.defaults["fused"]
    inputs = batches(6, CPU)
    torch.testing.assert_close(run(fast, inputs), run(plain, inputs), rtol=1e-4, atol=1e-5)
    if optimizer == "sgd":  # Adam's first steps amplify rounding in near-zero gradients
        for ours, theirs in zip(fast.generator.parameters(), plain.generator.parameters(),
                                strict=True):
            torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)


def test_fast_optimizer_fuses_unless_the_config_says_otherwise() -> None:
    parameters = [nn.Parameter(torch.zeros(3))]
    assert fast_optimizer(partial(torch.optim.Adam, lr=1.0), parameters, False).defaults["fused"]
    explicit = fast_optimizer(partial(torch.optim.Adam, foreach=True), parameters, False)
    assert explicit.defaults["foreach"] and not explicit.defaults["fused"]
    assert fast_optimizer(partial(torch.optim.SGD, lr=0.1), parameters, False).defaults["fused"]
    capturable = fast_optimizer(partial(torch.optim.Adam), parameters, True)
    assert capturable.defaults["capturable"]


def _adam_pair(kind: type[torch.optim.Optimizer], **settings: object
               ) -> tuple[list[nn.Parameter], torch.optim.Optimizer, list[nn.Parameter],
                          torch.optim.Optimizer]:
    """Two fused optimizers of `kind` on equal parameters, the second given the lean calls."""
    torch.manual_seed(0)
    mine = [nn.Parameter(torch.randn(shape)) for shape in ((16, 8), (16,), (1, 16))]
    theirs = [nn.Parameter(parameter.detach().clone()) for parameter in mine]
    plain = kind(theirs, lr=2e-4, fused=True, **settings)
    lean = kind(mine, lr=2e-4, fused=True, **settings)
    acceleration.lean_adam(lean)
    return mine, lean, theirs, plain


def _step_both(mine: list[nn.Parameter], lean: torch.optim.Optimizer,
               theirs: list[nn.Parameter], plain: torch.optim.Optimizer) -> None:
    """The same random gradients into both, then each optimizer's step."""
    lean.zero_grad()
    plain.zero_grad()
    for one, other in zip(mine, theirs, strict=True):
        one.grad = torch.randn_like(one)
        other.grad = one.grad.clone()
    lean.step()
    plain.step()


@pytest.mark.parametrize(("kind", "settings"), [
    (torch.optim.Adam, {}), (torch.optim.AdamW, {}),
    (torch.optim.Adam, {"amsgrad": True, "weight_decay": 0.01, "maximize": True})])
def test_lean_adam_updates_bit_for_bit_as_adam(kind: type[torch.optim.Optimizer],
                                               settings: dict[str, object]) -> None:
    mine, lean, theirs, plain = _adam_pair(kind, **settings)
    for _ in range(5):
        _step_both(mine, lean, theirs, plain)
    for one, other in zip(mine, theirs, strict=True):
        assert torch.equal(one, other)
        for name, value in plain.state[other].items():
            assert torch.equal(lean.state[one][name], value)
    lean.zero_grad()
    assert all(parameter.grad is None for parameter in mine)
    assert lean.state_dict()["state"].keys() == plain.state_dict()["state"].keys()


def test_lean_adam_leaves_anything_but_the_plain_case_to_adam(
        monkeypatch: pytest.MonkeyPatch) -> None:
    mine, lean, theirs, plain = _adam_pair(torch.optim.Adam)
    calls = []
    own_step = torch.optim.Adam.step
    monkeypatch.setattr(torch.optim.Adam, "step",
                        lambda self, closure=None: calls.append(1) or own_step(self, closure))
    _step_both(mine, lean, theirs, plain)  # the first step makes the state: Adam's own
    assert len(calls) == 2
    _step_both(mine, lean, theirs, plain)
    assert len(calls) == 3  # only the plain optimizer's
    hook = lean.register_step_post_hook(lambda *_: None)
    _step_both(mine, lean, theirs, plain)
    assert len(calls) == 5  # a hook: Adam's own step, which calls it
    hook.remove()
    mine[0].grad = None
    lean.step()  # a parameter without a gradient: Adam skips it
    assert len(calls) == 6
    assert lean.step(lambda: torch.tensor(1.0)) == 1.0  # a closure: Adam's own step
    scheduler = torch.optim.lr_scheduler.StepLR(lean, step_size=1, gamma=0.5)
    _step_both(mine, lean, theirs, plain)
    scheduler.step()
    assert lean.param_groups[0]["lr"] == 1e-4
    cuda_like = fast_optimizer(partial(torch.optim.Adam), [nn.Parameter(torch.zeros(3))], True)
    cuda_like.param_groups[0]["params"][0].grad = torch.ones(3)
    cuda_like.step()
    cuda_like.step()  # capturable: Adam's own step (for a CUDA graph)
    assert len(calls) == 10


def test_fast_optimizer_gives_fused_adam_the_lean_calls() -> None:
    parameters = [nn.Parameter(torch.zeros(3))]
    adam = fast_optimizer(partial(torch.optim.Adam, lr=1.0), parameters, False)
    assert adam.step.__func__ is acceleration.lean_adam_step
    sgd = fast_optimizer(partial(torch.optim.SGD, lr=0.1), parameters, False)
    assert "step" not in vars(sgd)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_freed_memory_is_kept_on_linux() -> None:
    assert keep_freed_memory()


def test_threads_setting() -> None:
    before = torch.get_num_threads()
    try:
        assert set_threads(1) == 1 and torch.get_num_threads() == 1
        assert set_threads(0) == 1  # 0 leaves PyTorch's choice alone
    finally:
        torch.set_num_threads(before)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/stat is Linux's")
def test_free_cores_are_read_from_the_kernels_counters() -> None:
    free = free_cores(interval=0.05)
    assert free is not None and 0.0 <= free <= len(os.sched_getaffinity(0))


@pytest.mark.parametrize(("free", "expected"), [
    (None, DEFAULT_THREADS), (float(DEFAULT_THREADS), DEFAULT_THREADS),
    (DEFAULT_THREADS - 0.3, DEFAULT_THREADS),  # a little other work: all of them
    (DEFAULT_THREADS - 1.0, max(1, DEFAULT_THREADS - 1)), (0.0, 1)])
def test_a_run_takes_the_cores_other_work_leaves_free(monkeypatch: pytest.MonkeyPatch,
                                                     free: float | None, expected: int) -> None:
    # Issue 35: 2 threads beside one busy process fell to 44 steps/s, where 1 thread kept 200.
    monkeypatch.setattr(acceleration, "free_cores", lambda: free)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: set(range(DEFAULT_THREADS)))
    assert threads_for_now() == expected


def test_the_thread_count_chosen_is_saved_so_a_resume_rounds_alike(
        make_cfg: Callable[..., DictConfig], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    monkeypatch.setattr("gan.run.loop.threads_for_now", lambda: 1)
    cfg = make_cfg()  # train.threads=0: chosen as the run starts
    assert settle(cfg, tmp_path, threads=0)[0].threads == 1 and cfg.train.threads == 1
    shared = make_cfg()
    assert settle(shared, tmp_path, threads=3)[0].threads == 3  # a launcher's share first
    chosen = make_cfg("train.threads=2")
    assert settle(chosen, tmp_path, threads=3)[0].threads == 2  # the user's, always


def test_a_cpu_step_is_not_wrapped_for_replay(make_cfg: Callable[..., DictConfig]) -> None:
    assert not isinstance(build_step(make_cfg(), CPU), CudaGraphStep)


@needs_cuda
@pytest.mark.parametrize("overrides", [("discriminator=fc",), ("discriminator=cnn",),
                                       ("discriminator=fc", "step=alternating")])
def test_cuda_graph_replay_matches_the_eager_cuda_step(make_cfg: Callable[..., DictConfig],
                                                       overrides: tuple[str, ...]) -> None:
    cuda = torch.device("cuda")
    cfg = make_cfg(*overrides, "optimizer.lr=0.001")
    torch.manual_seed(0)
    replayed = build_step(cfg, cuda)
    torch.manual_seed(0)
    eager = build_step(cfg, cuda, cuda_graph=False)
    assert isinstance(replayed, CudaGraphStep)
    inputs = batches(10, cuda)
    real, z = (torch.empty_like(t) for t in inputs[0])  # the loop's reused buffers
    replayed_losses = []
    for batch, noise in inputs:
        real.copy_(batch)
        z.copy_(noise)
        out = replayed(real, z)
        replayed_losses.append(torch.stack([out.g_loss, out.d_loss]).tolist())
    assert replayed.graph is not None  # captured after the warm-up, replayed since
    torch.testing.assert_close(replayed_losses, run(eager, inputs), rtol=1e-3, atol=1e-4)
    for ours, theirs in zip(replayed.generator.parameters(), eager.generator.parameters(),
                            strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-3, atol=1e-4)
    other = torch.rand_like(real)  # a tensor that is not the static input is copied in
    replayed(other, z)
    assert torch.equal(replayed.inputs[0], other)


@needs_cuda
def test_a_step_that_cannot_be_captured_runs_eager(make_cfg: Callable[..., DictConfig],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from gan.core.step import SimultaneousStep

    monkeypatch.setattr(SimultaneousStep, "capturable", False)
    step = build_step(make_cfg(), torch.device("cuda"))
    assert isinstance(step, SimultaneousStep)


def test_graph_step_delegates_and_forgets_its_graph_when_state_changes(
        make_cfg: Callable[..., DictConfig]) -> None:
    step = build_step(make_cfg(), CPU)  # the wrapper's bookkeeping needs no GPU
    wrapper = CudaGraphStep(step, torch.device("cuda"))
    assert wrapper.generator is step.generator and wrapper.objective is step.objective
    wrapper.calls, wrapper.graph = 9, object()
    step.g_optimizer.load_state_dict(step.g_optimizer.state_dict())  # new state tensors
    assert (wrapper.calls, wrapper.graph) == (0, None)
    wrapper.calls, wrapper.graph = 9, object()
    wrapper.objective = "another objective"  # set on the wrapped step, and the graph is stale
    assert step.objective == "another objective" and wrapper.graph is None


def test_graph_step_refuses_inputs_of_another_shape(make_cfg: Callable[..., DictConfig]) -> None:
    wrapper = CudaGraphStep(build_step(make_cfg(), CPU), torch.device("cuda"))
    wrapper.inputs = (torch.zeros(8, 1, 28, 28), torch.zeros(8, 100))
    real, z = torch.rand(8, 1, 28, 28), torch.rand(8, 100)
    wrapper._load((real, z))
    assert torch.equal(wrapper.inputs[0], real) and wrapper.inputs[0] is not real
    with pytest.raises(ValueError, match="takes \\(8, 1, 28, 28\\)"):
        wrapper._load((torch.rand(1, 1, 28, 28), z))


def test_graph_step_takes_a_conditional_runs_labels_as_inputs_too(
        make_cfg: Callable[..., DictConfig]) -> None:
    wrapper = CudaGraphStep(build_step(make_cfg("conditioning=projection"), CPU),
                            torch.device("cuda"))
    values = (torch.rand(8, 1, 28, 28), torch.rand(8, 100), torch.arange(8), torch.arange(8))
    _, _, labels = wrapper._step_inputs(values)
    assert isinstance(labels, Labels) and labels.real is values[2] and labels.fake is values[3]
    assert len(wrapper._step_inputs(values[:2])) == 2


@needs_cuda
@pytest.mark.parametrize("conditioning", ["concat", "acgan", "projection"])
def test_a_conditional_step_replays_as_it_runs_eager(make_cfg: Callable[..., DictConfig],
                                                     conditioning: str) -> None:
    cuda = torch.device("cuda")
    cfg = make_cfg(f"conditioning={conditioning}", "discriminator=cnn", "optimizer.lr=0.001")
    torch.manual_seed(0)
    replayed = build_step(cfg, cuda)
    torch.manual_seed(0)
    eager = build_step(cfg, cuda, cuda_graph=False)
    assert isinstance(replayed, CudaGraphStep)
    inputs = [(real, z, Labels(torch.arange(8, device=cuda) % 10,
                               torch.arange(8, device=cuda).flip(0) % 10))
              for real, z in batches(8, cuda)]
    replayed_values = [replayed(*batch).scalars() for batch in inputs]
    eager_values = [eager(*batch).scalars() for batch in inputs]
    assert replayed.graph is not None
    torch.testing.assert_close(replayed_values, eager_values, rtol=1e-3, atol=1e-4)


DRAWS_IN_THE_STEP = {"gradient_penalty"}  # random interpolates: replay and eager draw apart


@needs_cuda
@pytest.mark.parametrize("loss", options("loss"))
@pytest.mark.parametrize("remedy", options("remedy"))
def test_every_remedy_keeps_capture(make_cfg: Callable[..., DictConfig], remedy: str,
                                    loss: str) -> None:
    if remedy == "label_smoothing" and loss in ("hinge", "wasserstein", "relativistic"):
        pytest.skip("refused: these losses have no real target")
    cuda = torch.device("cuda")
    selection, needs = with_needs([remedy])  # slot_norm: with packing and batch_norm
    cfg = make_cfg(selection, *needs, "discriminator=cnn", "optimizer.lr=0.001", f"loss={loss}")
    torch.manual_seed(0)
    replayed = build_step(cfg, cuda)
    torch.manual_seed(0)
    eager = build_step(cfg, cuda, cuda_graph=False)
    assert isinstance(replayed, CudaGraphStep)
    k_real, k_noise = eager.real_batches, eager.noise_batches
    inputs = [(real.repeat(k_real, 1, 1, 1), z.repeat(k_noise, 1)) for real, z in batches(8, cuda)]
    # Every logged value, the objective's named terms included, read before the next replay.
    replayed_values = [replayed(real, z).scalars() for real, z in inputs]
    eager_values = [eager(real, z).scalars() for real, z in inputs]
    assert replayed.graph is not None
    assert [set(values) for values in replayed_values] == [set(v) for v in eager_values]
    if remedy in DRAWS_IN_THE_STEP:
        assert all(math.isfinite(v) for values in replayed_values for v in values.values())
        return
    torch.testing.assert_close(replayed_values, eager_values, rtol=1e-3, atol=1e-4)
