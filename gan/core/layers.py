"""Layers with a faster CPU algorithm than PyTorch's default, and the same maths."""

import torch
import torch.nn.functional as F
from torch import nn


def _input_gradient(grad: torch.Tensor, weight: torch.Tensor, padding: int,
                    input_shape: torch.Size) -> torch.Tensor:
    """d(loss)/d(input) of a stride-1 convolution, as one matmul and k*k shifted adds.

    oneDNN's backward-data for few input channels (the discriminator's first layer sees one)
    runs about 4x slower on the CPU than this: the per-tap gradient (C*k*k, B, H, W) comes from
    one matrix product, and each tap is added into a padded buffer at its offset.
    """
    batch, channels, height, width = input_shape
    out_channels, _, kernel, _ = weight.shape
    # (B*H*W, O): a view when grad is channels-last, as it arrives from a channels-last net.
    rows = grad.permute(0, 2, 3, 1).reshape(-1, out_channels)
    taps = (weight.reshape(out_channels, -1).T @ rows.T).view(channels, kernel, kernel, batch,
                                                              height, width)
    padded = grad.new_zeros(batch, channels, height + kernel - 1, width + kernel - 1)
    for i in range(kernel):
        for j in range(kernel):
            padded[:, :, i:i + height, j:j + width] += taps[:, i, j].transpose(0, 1)
    return padded[:, :, padding:padding + height, padding:padding + width]


class _SameConvolution(torch.autograd.Function):
    """A stride-1, same-padded convolution: oneDNN forward and weight gradient, our own input
    gradient."""

    @staticmethod
    def forward(ctx, images: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                padding: int) -> torch.Tensor:
        ctx.save_for_backward(images, weight)
        ctx.padding = padding
        return F.conv2d(images, weight, bias, padding=padding)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        images, weight = ctx.saved_tensors
        wanted = _wanted(ctx)
        grad_images = grad_weight = grad_bias = None
        if wanted[0]:
            grad_images = _input_gradient(grad, weight, ctx.padding, images.shape)
        if wanted[1] or wanted[2]:
            _, grad_weight, grad_bias = torch.ops.aten.convolution_backward(
                grad, images, weight, [weight.shape[0]], [1, 1], [ctx.padding] * 2, [1, 1],
                False, [0, 0], 1, [False, wanted[1], wanted[2]])
        return grad_images, grad_weight, grad_bias, None


def _wanted(ctx) -> list[bool]:
    """Which inputs this backward pass needs gradients for.

    `needs_input_grad` says only what requires grad; a `backward(inputs=...)` that reaches the
    discriminator's parameters alone (or the generator's alone) needs less. The engine knows
    which next nodes it will run; built-in layers ask it too, so this layer skips the same work.
    """
    return [needed and node is not None and _will_run(node, needed)
            for needed, (node, _) in zip(ctx.needs_input_grad, ctx.next_functions, strict=False)]


def _will_run(node: object, default: bool) -> bool:
    """The engine's answer for one next node, or `default` where it cannot say (a torch
    without the query; a leaf input inside `torch.autograd.grad`)."""
    try:
        return torch._C._will_engine_execute_node(node)
    except (AttributeError, TypeError, RuntimeError):
        return default


class FlattenHWC(nn.Module):
    """(B, C, H, W) -> (B, H * W * C), channels fastest: TensorFlow's NHWC flattening order.

    On a channels-last tensor this is a view, where `nn.Flatten`'s (C, H, W) order copies
    the activations (and their gradient) into NCHW every step.
    """

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Flatten all but the batch dimension, channel index varying fastest."""
        return features.permute(0, 2, 3, 1).flatten(1)


class SameConv2d(nn.Conv2d):
    """`nn.Conv2d(c, o, k, stride=1, padding="same")` whose CPU backward takes the faster
    input-gradient algorithm above (odd k); elsewhere, and for even k, plain `nn.Conv2d`."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=1, padding="same")
        self.symmetric = kernel_size % 2 == 1  # "same" pads k // 2 on every side
        # Our backward is not itself differentiable: a penalty on D's input gradient (gradient
        # penalty, R1) sets this, and the built-in convolution, twice differentiable, runs.
        self.second_order = False

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, O, H, W)."""
        if (images.device.type != "cpu" or not self.symmetric or self.second_order
                or images.dtype != self.weight.dtype or torch.is_autocast_enabled("cpu")
                or torch._C._functorch.is_batchedtensor(images)):  # K stacked runs: vmap
            return super().forward(images)
        padding = self.kernel_size[0] // 2
        return _SameConvolution.apply(images, self.weight, self.bias, padding)


def twice_differentiable(network: nn.Module) -> nn.Module:
    """The network with every layer able to give a gradient of its input gradient (for
    penalties on D's input gradient); returns it, changed in place."""
    for layer in network.modules():
        if isinstance(layer, SameConv2d):
            layer.second_order = True
    return network
