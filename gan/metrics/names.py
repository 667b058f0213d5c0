"""The names of what a run measures, defined once: the scores, the final losses, which a sweep
may optimise, and which of them are better higher."""

# gan.metrics.evaluator; high_quality: the 2D mixtures' (gan.metrics.mixtures). A benchmark's
# scorer measures some of them (the mixtures: modes_covered, high_quality, class_kl).
SCORE_NAMES = ("modes_covered", "class_kl", "high_quality", "classifier_score", "fid",
               "precision", "recall")
MANIFOLD = ("precision", "recall")  # absent below gan.metrics.manifold.MIN_N samples
FINAL_LOSSES = ("final_loss_g", "final_loss_d")  # the losses after the last update
OBJECTIVES = (*SCORE_NAMES, *FINAL_LOSSES)  # what eval.objective may name
MAXIMISED = ("modes_covered", "high_quality", "classifier_score", "precision",
             "recall")  # the objectives where higher is better
LABELS = {"modes_covered": "modes", "class_kl": "class KL", "high_quality": "high quality",
          "classifier_score": "classifier score",
          "fid": "FID", "precision": "precision", "recall": "recall",
          "final_loss_g": "G loss", "final_loss_d": "D loss"}  # for tables
