"""Spectral normalisation (Miyato et al. 2018, "Spectral Normalization for Generative
Adversarial Networks"): every weight of D divided by its largest singular value."""

from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from gan.core.networks import Discriminator, Generator
from gan.core.remedies.base import Remedy
from gan.errors import ConfigError

LAYERS = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


class SpectralNorm(Remedy):
    """Every weight matrix of D, the minibatch layer's and the head's included, is normalised
    to spectral norm 1 by `power_iterations` steps of power iteration per training forward.
    Applied once D is whole (`attach`), so the order of the remedies does not matter."""

    not_stackable = "spectral_norm's power iteration updates its vectors in place every forward"

    def __init__(self, power_iterations: int = 1) -> None:
        if power_iterations < 1:
            raise ConfigError(f"remedy.spectral_norm.power_iterations must be >= 1, got "
                              f"{power_iterations}")
        self.power_iterations = power_iterations

    def attach(self, generator: Generator, discriminator: Discriminator) -> None:
        """Normalise each layer's weight (and any other learned matrix, the minibatch
        layer's `tensor`, a projection D's label embedding) in place; the parameters stay the
        same objects. A conditional D's input label maps (`conditioning=concat`) are input, not
        a layer: normalised, each class's map would shrink to norm 1 beside an image of norm
        ~9, and D could hardly read the label."""
        label_maps = set() if discriminator.label_input is None else set(
            discriminator.label_input.modules())
        for module in [m for m in discriminator.modules() if m not in label_maps]:
            names = (["weight"] if isinstance(module, LAYERS) else
                     [name for name, p in module.named_parameters(recurse=False) if p.dim() == 2])
            for name in names:
                if not parametrize.is_parametrized(module, name):
                    spectral_norm(module, name=name, n_power_iterations=self.power_iterations)
