"""Layers with a faster CPU algorithm compute what PyTorch's own layers compute."""

import pytest
import torch
from torch import nn

from gan.core.layers import FlattenHWC, SameConv2d


@pytest.mark.parametrize("wanted", ["all", "input", "weights"])
def test_same_conv_gives_conv2ds_values_and_gradients(wanted: str) -> None:
    torch.manual_seed(0)
    fast = SameConv2d(3, 8, 5).to(memory_format=torch.channels_last)
    plain = nn.Conv2d(3, 8, 5, padding="same")
    plain.load_state_dict(fast.state_dict())
    images = torch.randn(4, 3, 12, 12)
    grad = torch.randn(4, 8, 12, 12)
    results = []
    for conv in (fast, plain):
        x = images.clone().requires_grad_()
        inputs = {"all": [x, *conv.parameters()], "input": [x],
                  "weights": list(conv.parameters())}[wanted]
        out = conv(x)
        gradients = torch.autograd.grad(out, inputs, grad)
        results.append((out, *gradients))
    for ours, theirs in zip(*results, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_even_kernels_fall_back_to_conv2d() -> None:
    conv = SameConv2d(1, 2, 4)
    assert conv(torch.rand(2, 1, 9, 9)).shape == (2, 2, 9, 9)


def test_flatten_hwc_is_tensorflows_order_and_a_view_of_channels_last() -> None:
    features = torch.randn(2, 3, 4, 5).contiguous(memory_format=torch.channels_last)
    flat = FlattenHWC()(features)
    assert flat.shape == (2, 60)
    assert torch.equal(flat[:, :3], features[:, :, 0, 0])  # channels vary fastest
    assert flat.data_ptr() == features.data_ptr()  # no copy


def test_backward_to_the_weights_alone_skips_the_input_gradient(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import gan.core.layers

    calls = []
    real_input_gradient = gan.core.layers._input_gradient
    monkeypatch.setattr(gan.core.layers, "_input_gradient",
                        lambda *args: calls.append(1) or real_input_gradient(*args))
    conv = SameConv2d(1, 4, 5)
    images = torch.rand(2, 1, 8, 8, requires_grad=True) * 1.0  # not a leaf, as G's output
    conv(images).sum().backward(inputs=[conv.weight, conv.bias])
    assert calls == [] and conv.weight.grad is not None
    conv(images).sum().backward(inputs=[images])
    assert calls == [1]


def test_bf16_autocast_falls_back_to_conv2d() -> None:
    conv = SameConv2d(1, 4, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = conv(torch.rand(2, 1, 8, 8, requires_grad=True))
    out.float().sum().backward()
    assert out.dtype == torch.bfloat16
