"""Statistics: classification metrics with confidence intervals (:mod:`.classification`) and the reader study's
analysis (:mod:`.reader_study`). Used by training, evaluation and the reader-study pages; no model code."""
