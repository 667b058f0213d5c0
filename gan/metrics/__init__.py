"""Mode-collapse metrics: an evaluator classifier per dataset and the scores computed with it."""
