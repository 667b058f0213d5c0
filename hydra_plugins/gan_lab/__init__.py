"""gan-lab's Hydra plugins. Hydra instantiates a sweeper or a launcher only when its class is
defined under the `hydra_plugins` namespace package, which it scans at start-up; the logic lives
in the `gan` package and each module here only names it where Hydra looks."""
