"""Stacked optimizers: each run's slice follows torch's optimizer with that run's values."""

import copy
from collections.abc import Callable

import pytest
import torch

from gan.core.stacking.optim import StackedAdam, StackedSGD, load_single_states, single_state

RUNS = 4
LRS = [1e-3, 3e-3, 1e-2, 3e-2]
BETAS = ([0.9, 0.5, 0.0, 0.8], [0.999, 0.99, 0.9, 0.95])
MOMENTA = [0.9, 0.5, 0.0, 0.8]
# float32, 200 steps. The stacked update does torch's single-tensor ops in the same order with
# the same float64 bias corrections, and here (torch 2.14, this CPU) matches torch bit for bit.
# It broadcasts (K, 1, ...) tensors where torch passes Python scalars, though, and an L2 term or
# Nesterov's g + momentum * b rounds twice where torch's add(alpha=) may round once (FMA) in
# another build: a margin of a few float32 ulps, not exact equality.
TOLERANCE = {"rtol": 1e-6, "atol": 1e-7}

Make = Callable[[list[torch.Tensor]], torch.optim.Optimizer]


def problem(seed: int = 0) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """Stacked parameters of a tiny network per run: weight (K, 5, 3), bias (K, 5), scale (K,);
    and each run's own data: inputs (K, 16, 3), targets (K, 16, 5)."""
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(RUNS, 5, 3, generator=g) * 0.5, torch.randn(RUNS, 5, generator=g) * 0.1,
              torch.ones(RUNS)]
    return ([p.requires_grad_() for p in params], torch.randn(RUNS, 16, 3, generator=g),
            torch.randn(RUNS, 16, 5, generator=g))


def run_loss(params: list[torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """One run's loss on its unstacked parameters."""
    weight, bias, scale = params
    return ((torch.tanh(x @ weight.T + bias) * scale - y) ** 2).mean()


def train_stack(optimizer: torch.optim.Optimizer, params: list[torch.Tensor], x: torch.Tensor,
                y: torch.Tensor, steps: int, nan_run: int | None = None,
                gap: range = range(0)) -> None:
    """`steps` updates of the stack; the loss is the runs' sum, so run k's gradient is slice k's.
    Each slice's loss is computed as a single run's would be, so gradients match bit for bit.
    Halfway, run `nan_run` gets a NaN gradient; in the steps of `gap` the scale gets none."""
    for step in range(steps):
        optimizer.zero_grad()
        sum(run_loss([p[k] for p in params], x[k], y[k]) for k in range(RUNS)).backward()
        if nan_run is not None and step == steps // 2:
            params[0].grad[nan_run] = float("nan")
        if step in gap:
            params[2].grad = None
        optimizer.step()


def train_single(optimizer: torch.optim.Optimizer, params: list[torch.Tensor], x: torch.Tensor,
                 y: torch.Tensor, steps: int, gap: range = range(0)) -> None:
    for step in range(steps):
        optimizer.zero_grad()
        run_loss(params, x, y).backward()
        if step in gap:
            params[2].grad = None
        optimizer.step()


def singles(params: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    """Each run's parameters, cloned out of the stack."""
    return [[p[k].detach().clone().requires_grad_() for p in params] for k in range(RUNS)]


def torch_adam(k: int, params: list[torch.Tensor], **extra: float) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=LRS[k], betas=(BETAS[0][k], BETAS[1][k]), **extra)


def assert_slices_equal(stacked: list[torch.Tensor], runs: list[list[torch.Tensor]],
                        skip: int | None = None) -> None:
    for k, run in enumerate(runs):
        if k != skip:
            for p, single in zip(stacked, run, strict=True):
                torch.testing.assert_close(p[k], single.detach(), **TOLERANCE)


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adam_slices_follow_torch_adam(weight_decay: float) -> None:
    params, x, y = problem()
    runs = singles(params)
    train_stack(StackedAdam(params, lr=LRS, betas=BETAS, weight_decay=weight_decay), params, x, y,
                steps=200)
    for k, run in enumerate(runs):
        train_single(torch_adam(k, run, weight_decay=weight_decay), run, x[k], y[k], steps=200)
    assert_slices_equal(params, runs)
    assert not torch.equal(params[0][0], params[0][1])  # the runs did differ


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_slices_follow_torch_sgd(nesterov: bool) -> None:
    params, x, y = problem(seed=1)
    runs = singles(params)
    momenta = [m or 0.3 for m in MOMENTA] if nesterov else MOMENTA  # torch's nesterov needs > 0
    stack = StackedSGD(params, lr=LRS, momentum=momenta, weight_decay=0.01, nesterov=nesterov)
    train_stack(stack, params, x, y, steps=200)
    for k, run in enumerate(runs):
        single = torch.optim.SGD(run, lr=LRS[k], momentum=momenta[k], weight_decay=0.01,
                                 nesterov=nesterov)
        train_single(single, run, x[k], y[k], steps=200)
    assert_slices_equal(params, runs)


@pytest.mark.parametrize(("make", "make_single"), [
    (lambda ps: StackedAdam(ps, lr=LRS, betas=BETAS), torch_adam),
    (lambda ps: StackedSGD(ps, lr=LRS, momentum=MOMENTA),
     lambda k, ps: torch.optim.SGD(ps, lr=LRS[k], momentum=MOMENTA[k])),
])
def test_a_nan_gradient_stays_in_its_run(make: Make,
                                         make_single: Callable[..., torch.optim.Optimizer]) -> None:
    params, x, y = problem()
    runs = singles(params)
    train_stack(make(params), params, x, y, steps=40, nan_run=2)
    for k, run in enumerate(runs):
        train_single(make_single(k, run), run, x[k], y[k], steps=40)
    assert not params[0][2].isfinite().any()
    assert all(p[k].isfinite().all() for p in params for k in (0, 1, 3))
    assert_slices_equal(params, runs, skip=2)


def test_a_parameter_without_gradient_is_skipped_as_in_torch() -> None:
    params, x, y = problem()
    runs = singles(params)
    stack = StackedAdam(params, lr=LRS, betas=BETAS)
    train_stack(stack, params, x, y, steps=30, gap=range(10, 20))
    for k, run in enumerate(runs):
        train_single(torch_adam(k, run), run, x[k], y[k], steps=30, gap=range(10, 20))
    assert_slices_equal(params, runs)
    assert stack.state[params[2]]["step"].tolist() == [20.0] * RUNS  # 30 steps, 10 skipped
    before = [p.detach().clone() for p in params]
    stack.zero_grad()
    stack.step()
    assert all(torch.equal(p, b) for p, b in zip(params, before, strict=True))


def test_adam_checkpoint_round_trip_through_torch_adam() -> None:
    params, x, y = problem()
    stack = StackedAdam(params, lr=LRS, betas=BETAS, eps=1e-6)
    train_stack(stack, params, x, y, steps=20)
    runs = singles(params)
    states = [single_state(stack, k, run) for k, run in enumerate(runs)]
    optimizers = [torch_adam(0, run) for run in runs]  # lr and betas come from the state
    for k, (optimizer, state) in enumerate(zip(optimizers, states, strict=True)):
        optimizer.load_state_dict(state)
        assert optimizer.param_groups[0]["lr"] == LRS[k]
        assert optimizer.param_groups[0]["eps"] == 1e-6
        train_single(optimizer, runs[k], x[k], y[k], steps=10)
    train_stack(stack, params, x, y, steps=10)
    assert_slices_equal(params, runs)

    # And back: a fresh stack from the singles' states (steps as floats, as older torch saved).
    saved = [copy.deepcopy(o.state_dict()) for o in optimizers]
    for state in saved:
        state["state"][0]["step"] = float(state["state"][0]["step"])
    restacked = [torch.stack([run[i].detach() for run in runs]).requires_grad_() for i in range(3)]
    stack2 = StackedAdam(restacked)
    load_single_states(stack2, saved)
    assert stack2.param_groups[0]["lr"].tolist() == LRS
    train_stack(stack2, restacked, x, y, steps=10)
    for optimizer, k in zip(optimizers, range(RUNS), strict=True):
        train_single(optimizer, runs[k], x[k], y[k], steps=10)
    assert_slices_equal(restacked, runs)


def test_sgd_states_convert_both_ways() -> None:
    params, x, y = problem()
    stack = StackedSGD(params, lr=LRS, momentum=MOMENTA)
    train_stack(stack, params, x, y, steps=5)
    states = [single_state(stack, k, [p[k] for p in params]) for k in range(RUNS)]
    assert states[2]["state"] == {}  # momentum 0: torch's SGD keeps no buffer
    assert states[0]["param_groups"][0]["momentum"] == MOMENTA[0]
    buffers = stack.state[params[0]]["momentum_buffer"].clone()
    stack2 = StackedSGD([p.detach().clone().requires_grad_() for p in params])
    load_single_states(stack2, states)
    assert stack2.param_groups[0]["momentum"].tolist() == MOMENTA
    restored = stack2.state[stack2.param_groups[0]["params"][0]]["momentum_buffer"]
    torch.testing.assert_close(restored[[0, 1, 3]], buffers[[0, 1, 3]], rtol=0, atol=0)


def test_stacked_state_dict_round_trip() -> None:
    params, x, y = problem()
    stack = StackedAdam(params, lr=LRS, betas=BETAS)
    train_stack(stack, params, x, y, steps=3)
    copied = [p.detach().clone().requires_grad_() for p in params]
    stack2 = StackedAdam(copied)
    stack2.load_state_dict(copy.deepcopy(stack.state_dict()))  # as through a file
    assert stack2.param_groups[0]["betas"][0].tolist() == BETAS[0]
    train_stack(stack, params, x, y, steps=5)
    train_stack(stack2, copied, x, y, steps=5)
    assert all(torch.equal(p, c) for p, c in zip(params, copied, strict=True))


@pytest.mark.parametrize(("make", "message"), [
    (lambda ps: StackedAdam(ps, lr=[1e-3, 1e-3]), r"lr has shape \(2,\), not \(4,\)"),
    (lambda ps: StackedAdam(ps, betas=(0.9, [0.9, 0.9, 0.9])), r"betas\[1\] has shape"),
    (lambda ps: StackedAdam(ps, lr=[1e-3, -1e-3, 1e-3, 1e-3]), r"lr must lie in \[0, inf\)"),
    (lambda ps: StackedAdam(ps, betas=(0.9, [0.9, 1.0, 0.9, 0.9])), r"betas\[1\] must lie in"),
    (lambda ps: StackedAdam(ps, betas=(-0.1, 0.999)), r"betas\[0\] must lie in \[0, 1\)"),
    (lambda ps: StackedAdam([*ps, torch.zeros(3, 2)]), r"parameter 3 .* run dimension of 4"),
    (lambda ps: StackedAdam([torch.zeros(())]), r"parameter 0 has shape \(\)"),
    (lambda ps: StackedSGD(ps, momentum=MOMENTA, nesterov=True), r"nesterov needs a momentum"),
])
def test_bad_values_raise_one_line(make: Make, message: str) -> None:
    params, _, _ = problem()
    with pytest.raises(ValueError, match=message) as error:
        make(params)
    assert "\n" not in str(error.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_adam_step_is_captured_in_a_cuda_graph() -> None:
    params = [p.detach().cuda().requires_grad_() for p in problem()[0]]
    eager = [p.detach().clone().requires_grad_() for p in params]
    for ps in (params, eager):
        for p in ps:
            p.grad = torch.randn_like(p)
    captured, reference = StackedAdam(params, lr=LRS, betas=BETAS), StackedAdam(eager, lr=LRS,
                                                                               betas=BETAS)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):  # warm up: lazy state, then capture
            captured.step()
            reference.step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        captured.step()
    for _ in range(5):
        graph.replay()
        reference.step()
    torch.cuda.synchronize()
    assert captured.state[params[0]]["step"].tolist() == [8.0] * RUNS
    assert all(torch.equal(p, e) for p, e in zip(params, eager, strict=True))
