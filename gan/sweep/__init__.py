"""Many runs: a sweep's job (its share of the cores, what a continued sweep does with it), the
sweep's summary written after each job, the Optuna sweeper, the stacked launcher, a killed sweep
continued, a job requeued at a time limit. A single run never imports this package."""
