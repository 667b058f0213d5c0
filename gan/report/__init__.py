"""What only reads run directories: a sweep's summary, every run listed (`python -m gan.runs`),
the study's page (`python -m gan.study`), a sweep's finished runs kept small
(`python -m gan.archive`). Nothing here imports torch or Hydra, so these commands start at once."""
