"""Many runs: each job's status and share of the cores, the sweep's summary, the remedies
study that turns runs into a results page."""
