"""Training-side code (never imported by the serving path): teachers, consistent views, patient distillation.

The app loads only what :mod:`scalp_model.serving.checkpoint`, :mod:`scalp_model.serving.predictor` and the engines need;
everything here runs from the command line while a model is being made.
"""
