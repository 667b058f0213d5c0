"""What a GAN is: networks, layers, noise, the adversarial losses and the objective, the
training step and the remedies. Tensors in, tensors out: no file I/O, no Hydra, no TensorBoard
(import-linter checks it)."""
