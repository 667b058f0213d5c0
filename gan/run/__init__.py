"""One training run: the config's schema and the one builder that turns it into objects, the
loop and what it records (TensorBoard, sample grids, checkpoints), device and speed settings,
interrupts, divergence, and a run directory read back. Importing this package loads nothing:
the commands import only the modules they use (`gan.sample` never loads the loop)."""
