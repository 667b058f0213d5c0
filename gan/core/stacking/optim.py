"""Adam and SGD for K stacked runs, each run with its own learning rate (and betas, momentum, ...).

Every parameter is (K, *shape), run k owns slice k; each hyperparameter is a (K,) float64 tensor
on the parameters' device, broadcast over a parameter as (K, 1, ..., 1). `step()` is one pass of
`torch._foreach_*` ops, with no loop over runs and no host sync (step counts live on the device),
so it can be captured in a CUDA graph. Slice k follows torch.optim.Adam / SGD with run k's values
to float rounding; `single_state` and `load_single_states` convert to and from their states.
"""
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Union

import torch

PerRun = torch.Tensor | Sequence[float] | float  # (K,) values, or one float for every run
Stacked = Union["StackedAdam", "StackedSGD"]
_ADAMW = "decoupled_weight_decay"
_ADAM_STATE = ("step", "exp_avg", "exp_avg_sq")


def _per_run(value: PerRun, runs: int, name: str, device: torch.device,
             high: float = math.inf) -> torch.Tensor:
    """`value` as a (K,) float64 tensor on `device`; raises ValueError for a length other than K
    or a value outside [0, high)."""
    values = torch.as_tensor(value, dtype=torch.float64).detach().to("cpu").clone()
    values = values.repeat(runs) if values.dim() == 0 else values  # a float: the same for all
    if values.shape != (runs,):
        raise ValueError(f"{name} has shape {tuple(values.shape)}, not ({runs},): one per run")
    outside = values[~((values >= 0) & (values < high))]
    if outside.numel():
        raise ValueError(f"{name} must lie in [0, {high:g}) for every run, got {outside[0].item()}")
    return values.to(device)


def _rows(values: torch.Tensor, params: list[torch.Tensor]) -> list[torch.Tensor]:
    """Per parameter, its row of `values` ((K,) shared, or (P, K) one row per parameter) in the
    parameter's dtype, viewed as (K, 1, ..., 1) to broadcast over its (K, *shape)."""
    rows = values.expand(len(params), -1)
    cast = {dtype: rows.to(dtype) for dtype in {p.dtype for p in params}}
    return [cast[p.dtype][i].view(-1, *[1] * (p.dim() - 1)) for i, p in enumerate(params)]


class StackedOptimizer(torch.optim.Optimizer):
    """What StackedAdam and StackedSGD share: the run count K (`runs`, from the first parameter),
    per-run values as (K,) tensors, lazy state. Raises ValueError for a parameter without the
    leading K dimension (all of one optimizer share K), or per-run values of a wrong length."""

    def __init__(self, params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
                 defaults: dict[str, Any]) -> None:
        self.runs = 0  # K, set by the first parameter group
        super().__init__(params, defaults)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        try:
            for i, p in enumerate(group["params"]):
                self.runs = self.runs or (p.shape[0] if p.dim() else 0)
                if p.dim() == 0 or p.shape[0] != self.runs:
                    raise ValueError(f"parameter {i} has shape {tuple(p.shape)}: no leading "
                                     f"run dimension of {self.runs or 'K'}")
            self._convert(group, group["params"][0].device)
        except ValueError:
            self.param_groups.pop()
            raise

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """torch's, then each group's per-run tensors moved to its parameters' device."""
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            self._convert(group, group["params"][0].device)

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """One update of every parameter with a gradient; a parameter whose .grad is None is
        skipped, its state untouched, as in torch."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                self._update(group, params)
        return loss

    def _state(self, p: torch.Tensor) -> dict[str, Any]:
        """The state of `p`, created fresh on its first update."""
        if not self.state[p]:
            self.state[p].update(self._fresh(p))
        return self.state[p]

    def _stack_state(self, p: torch.Tensor, singles: list[dict[str, Any]]) -> dict[str, Any]:
        """The stacked state of `p` from K single-run states; a run without one starts fresh."""
        state = self._fresh(p)
        for k, single in enumerate(singles):
            for key, value in single.items():
                if key in state and value is not None:
                    if torch.as_tensor(value).shape != state[key][k].shape:
                        raise ValueError(f"run {k}'s {key} does not fit {tuple(p.shape)}")
                    state[key][k].copy_(torch.as_tensor(value))
        return state

    # What each optimizer defines: its per-run values as (K,) tensors, its update, a fresh state.
    def _convert(self, group: dict[str, Any], device: torch.device) -> None: ...
    def _update(self, group: dict[str, Any], params: list[torch.Tensor]) -> None: ...
    def _fresh(self, p: torch.Tensor) -> dict[str, torch.Tensor]: ...


class StackedAdam(StackedOptimizer):
    """Adam (Kingma & Ba 2015) for K stacked runs. Per run k, at step t, with g = grad + wd * p:

        m = b1 * m + (1 - b1) * g          v = b2 * v + (1 - b2) * g^2
        p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)

    params: tensors (K, *shape). lr, eps, weight_decay (L2 added to the gradient, as
    torch.optim.Adam's): (K,) or one float; betas: (beta1, beta2), each (K,) or one float.
    State per parameter: step (K,) float32 on its device, exp_avg and exp_avg_sq (K, *shape).
    Raises ValueError for values whose length is not K, a negative lr, eps or weight_decay,
    betas outside [0, 1), or a parameter without the leading K dimension."""

    def __init__(self, params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
                 lr: PerRun = 1e-3, betas: tuple[PerRun, PerRun] = (0.9, 0.999),
                 eps: PerRun = 1e-8, weight_decay: PerRun = 0.0) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "capturable": True}  # tells torch's load_state_dict: steps on the device
        super().__init__(params, defaults)

    def _convert(self, group: dict[str, Any], device: torch.device) -> None:
        if len(group["betas"]) != 2:
            raise ValueError(f"betas has {len(group['betas'])} entries, not 2: (beta1, beta2)")
        group["betas"] = tuple(_per_run(b, self.runs, f"betas[{i}]", device, high=1.0)
                               for i, b in enumerate(group["betas"]))
        for name in ("lr", "eps", "weight_decay"):
            group[name] = _per_run(group[name], self.runs, name, device)
        group["has_weight_decay"] = bool(group["weight_decay"].any())  # at setup, not per step

    def _fresh(self, p: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"step": torch.zeros(self.runs, dtype=torch.float32, device=p.device),
                "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format)}

    def _update(self, group: dict[str, Any], params: list[torch.Tensor]) -> None:
        # torch's single-tensor Adam op for op (same roundings); coefficients are float64 (P, K).
        states = [self._state(p) for p in params]
        steps, exp_avgs, exp_avg_sqs = ([s[key] for s in states] for key in _ADAM_STATE)
        grads: list[torch.Tensor] = [p.grad for p in params]  # type: ignore[misc]
        beta1, beta2 = group["betas"]
        torch._foreach_add_(steps, 1.0)
        t = torch.stack(steps).double()  # (P, K): each parameter's step count, per run
        if group["has_weight_decay"]:
            grads = torch._foreach_addcmul(grads, params, _rows(group["weight_decay"], params))
        torch._foreach_lerp_(exp_avgs, grads, _rows(1 - beta1, params))
        torch._foreach_mul_(exp_avg_sqs, _rows(beta2, params))
        scaled = torch._foreach_mul(grads, _rows(1 - beta2, params))
        torch._foreach_addcmul_(exp_avg_sqs, scaled, grads)
        denom = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_div_(denom, _rows((1 - beta2**t).sqrt(), params))
        torch._foreach_add_(denom, _rows(group["eps"], params))
        step_size = _rows(-group["lr"] / (1 - beta1**t), params)
        torch._foreach_addcdiv_(params, torch._foreach_mul(exp_avgs, step_size), denom)

    def _single_group(self, group: dict[str, Any], k: int) -> dict[str, Any]:
        beta1, beta2 = group["betas"]
        return {"lr": group["lr"][k].item(), "betas": (beta1[k].item(), beta2[k].item()),
                "eps": group["eps"][k].item(), "weight_decay": group["weight_decay"][k].item(),
                "amsgrad": False, "maximize": False, "foreach": None, "capturable": False,
                "differentiable": False, "fused": None, "decoupled_weight_decay": False}

    def _single_state(self, state: dict[str, Any], group: dict[str, Any], k: int,
                      like: torch.Tensor) -> dict[str, Any]:
        return {"step": state["step"][k].detach().to("cpu", copy=True),  # torch's 0-dim tensor
                **{key: torch.empty_like(like).copy_(state[key][k]) for key in _ADAM_STATE[1:]}}

    def _load_group(self, group: dict[str, Any], singles: list[dict[str, Any]]) -> None:
        if any(s.get(f) for s in singles for f in ("amsgrad", "maximize", _ADAMW)):
            raise ValueError("StackedAdam takes plain Adam: no amsgrad, maximize or AdamW decay")
        group["betas"] = tuple([float(s["betas"][i]) for s in singles] for i in (0, 1))
        for name in ("lr", "eps", "weight_decay"):
            group[name] = [float(s[name]) for s in singles]
        self._convert(group, group["params"][0].device)


class StackedSGD(StackedOptimizer):
    """SGD with momentum (dampening 0) for K stacked runs. Per run k, with g = grad + wd * p:

        b = momentum * b + g;   d = g + momentum * b if nesterov else b;   p = p - lr * d

    params: tensors (K, *shape). lr, momentum, weight_decay: (K,) or one float each; nesterov is
    one flag for all runs. State per parameter: momentum_buffer (K, *shape), kept only when some
    run has momentum (a zero buffer updates like torch's first-step copy of the gradient).
    Raises ValueError for values whose length is not K, a negative lr, momentum or weight_decay,
    nesterov with a run whose momentum is 0, or a parameter without the leading K dimension."""

    def __init__(self, params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
                 lr: PerRun = 1e-3, momentum: PerRun = 0.0, weight_decay: PerRun = 0.0,
                 nesterov: bool = False) -> None:
        defaults = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay,
                    "nesterov": nesterov}
        super().__init__(params, defaults)

    def _convert(self, group: dict[str, Any], device: torch.device) -> None:
        for name in ("lr", "momentum", "weight_decay"):
            group[name] = _per_run(group[name], self.runs, name, device)
        if group["nesterov"] and not bool(group["momentum"].all()):
            raise ValueError("nesterov needs a momentum above 0 in every run")
        group["has_weight_decay"] = bool(group["weight_decay"].any())  # at setup, not per step
        group["has_momentum"] = bool(group["momentum"].any())

    def _fresh(self, p: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"momentum_buffer": torch.zeros_like(p, memory_format=torch.preserve_format)}

    def _update(self, group: dict[str, Any], params: list[torch.Tensor]) -> None:
        grads: list[torch.Tensor] = [p.grad for p in params]  # type: ignore[misc]
        if group["has_weight_decay"]:
            grads = torch._foreach_addcmul(grads, params, _rows(group["weight_decay"], params))
        if group["has_momentum"]:
            momentum = _rows(group["momentum"], params)
            buffers = [self._state(p)["momentum_buffer"] for p in params]
            torch._foreach_mul_(buffers, momentum)
            torch._foreach_add_(buffers, grads)
            nesterov = group["nesterov"]
            grads = torch._foreach_addcmul(grads, buffers, momentum) if nesterov else buffers
        torch._foreach_addcmul_(params, grads, _rows(-group["lr"], params))

    def _single_group(self, group: dict[str, Any], k: int) -> dict[str, Any]:
        return {"lr": group["lr"][k].item(), "momentum": group["momentum"][k].item(),
                "dampening": 0, "weight_decay": group["weight_decay"][k].item(),
                "nesterov": group["nesterov"], "maximize": False, "foreach": None,
                "differentiable": False, "fused": None}

    def _single_state(self, state: dict[str, Any], group: dict[str, Any], k: int,
                      like: torch.Tensor) -> dict[str, Any] | None:
        if group["momentum"][k].item() == 0:
            return None  # torch's SGD keeps no state without momentum
        return {"momentum_buffer": torch.empty_like(like).copy_(state["momentum_buffer"][k])}

    def _load_group(self, group: dict[str, Any], singles: list[dict[str, Any]]) -> None:
        if any(s.get("dampening") or s.get("maximize") for s in singles) or \
                len({bool(s.get("nesterov")) for s in singles}) > 1:
            raise ValueError("StackedSGD takes SGD without dampening or maximize, one nesterov")
        group["nesterov"] = bool(singles[0].get("nesterov"))
        for name in ("lr", "momentum", "weight_decay"):
            group[name] = [float(s[name]) for s in singles]
        self._convert(group, group["params"][0].device)


def _groups(optimizer: Stacked) -> Iterator[tuple[dict[str, Any], list[int]]]:
    """Each parameter group, with its parameters' ids in a state_dict (counted across groups)."""
    first = 0
    for group in optimizer.param_groups:
        yield group, list(range(first, first + len(group["params"])))
        first += len(group["params"])


def single_state(optimizer: Stacked, k: int, parameters_k: Sequence[torch.Tensor], *,
                 options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run k's slice as the state_dict of torch.optim.Adam (or SGD, for StackedSGD) over
    `parameters_k`: run k's unstacked parameters, one (*shape) per stacked (K, *shape), in the
    optimizer's order and groups. Its state tensors take each parameter's layout and device.
    `options` go into every group (e.g. {"fused": True}): load_state_dict takes a group's
    flags from the state, so pass the target optimizer's. Raises ValueError for k outside
    [0, K) or parameters that do not match."""
    if not 0 <= k < optimizer.runs:
        raise ValueError(f"run {k} is not one of the {optimizer.runs} stacked runs")
    shapes = [tuple(p.shape[1:]) for group in optimizer.param_groups for p in group["params"]]
    if shapes != [tuple(p.shape) for p in parameters_k]:
        raise ValueError(f"parameters_k must have the shapes {shapes} (stacked, without K)")
    groups, state = [], {}
    for group, ids in _groups(optimizer):
        groups.append({**optimizer._single_group(group, k), **(options or {}), "params": ids})
        for i, p in zip(ids, group["params"], strict=True):
            if optimizer.state.get(p):
                single = optimizer._single_state(optimizer.state[p], group, k, parameters_k[i])
                state.update({} if single is None else {i: single})
    return {"state": state, "param_groups": groups}


def load_single_states(optimizer: Stacked, states: Sequence[Mapping[str, Any]]) -> None:
    """Set the stack from K single runs' state_dicts (torch.optim.Adam's for StackedAdam, SGD's
    for StackedSGD), run k from states[k]: each group's per-run hyperparameters, and each
    parameter's state (a run without state for a parameter starts it fresh; `step` may be a float
    or a tensor). Raises ValueError for a count other than K, groups or parameters that do not
    match, or options the stacked optimizer does not have (amsgrad, dampening, ...)."""
    if len(states) != optimizer.runs:
        raise ValueError(f"{len(states)} states for {optimizer.runs} stacked runs")
    for g, (group, ids) in enumerate(_groups(optimizer)):
        singles = [s["param_groups"][g] if g < len(s["param_groups"]) else {} for s in states]
        if any(list(single.get("params", ())) != ids for single in singles):
            raise ValueError(f"group {g} of a single state does not hold parameters {ids}")
        optimizer._load_group(group, singles)
        for i, p in zip(ids, group["params"], strict=True):
            per_run = [dict(s["state"].get(i, {})) for s in states]
            optimizer.state.pop(p, None)
            if any(per_run):
                optimizer.state[p] = optimizer._stack_state(p, per_run)
