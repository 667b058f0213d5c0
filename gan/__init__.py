"""gan-lab: GAN experiments on MNIST-like data, configured with Hydra."""

__version__ = "0.1.0"
