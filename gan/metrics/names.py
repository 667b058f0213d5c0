"""The names of what a run measures, defined once: the scores, the final losses, which a sweep
may optimise, and which of them are better higher."""

# gan.metrics.evaluator; high_quality: the 2D mixtures' (gan.metrics.mixtures). A benchmark's
# scorer measures some of them (the mixtures: modes_covered, high_quality, class_kl).
SCORE_NAMES = ("modes_covered", "class_kl", "high_quality", "classifier_score", "fid",
               "precision", "recall")
# gan.metrics.conditional: measured only where the samples were requested as classes
# (`Evaluator.score_conditional`), so kept apart from SCORE_NAMES, which every image run logs,
# summarises and compares with its real-data reference.
CONDITIONAL_SCORES = ("conditional_accuracy", "min_class_accuracy", "intra_fid",
                      "min_class_recall")
# A conditional run's per-class scores are shown class by class (TensorBoard curves,
# gan.evaluate's table) where there are at most this many classes; Stacked MNIST's 1,000 modes
# would be 1,000 curves an evaluation, too many to read, so the json files alone keep them
# (metrics.json, gan.evaluate's eval.json).
SHOWN_CLASSES = 100
MANIFOLD = ("precision", "recall")  # absent below gan.metrics.manifold.MIN_N samples
FINAL_LOSSES = ("final_loss_g", "final_loss_d")  # the losses after the last update
OBJECTIVES = (*SCORE_NAMES, *CONDITIONAL_SCORES, *FINAL_LOSSES)  # what eval.objective may name
MAXIMISED = ("modes_covered", "high_quality", "classifier_score", "precision", "recall",
             "conditional_accuracy", "min_class_accuracy",
             "min_class_recall")  # the objectives where higher is better
LABELS = {"modes_covered": "modes", "class_kl": "class KL", "high_quality": "high quality",
          "classifier_score": "classifier score",
          "fid": "FID", "precision": "precision", "recall": "recall",
          "conditional_accuracy": "conditional accuracy",
          "min_class_accuracy": "min class accuracy", "intra_fid": "intra-FID",
          "min_class_recall": "min class recall",
          "final_loss_g": "G loss", "final_loss_d": "D loss"}  # for tables
