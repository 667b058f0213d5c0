"""The stacked launcher, where Hydra can find it (`hydra/launcher=stacked`)."""

from gan.sweep import stacked_launcher


class StackedLauncher(stacked_launcher.StackedLauncher):
    """`gan.sweep.stacked_launcher.StackedLauncher` under the name Hydra accepts (Hydra 1.3
    instantiates a launcher only from a module under `hydra_plugins.`)."""
