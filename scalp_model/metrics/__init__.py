"""Statistics: classification figures with confidence intervals (:mod:`.classification`), agreement beyond
chance (:mod:`.agreement`: Cohen's and Fleiss' kappa) and the reader study's analysis (:mod:`.reader_study`).
Used by training, evaluation and the reader-study pages; no model code, no Streamlit."""
