"""What the app loads: checkpoint, safe decoding, quality, engines (torch, ONNX, int8), predictor, Grad-CAM, gate.

Nothing here imports :mod:`scalp_model.training`, :mod:`scalp_model.cli` or Streamlit
(``tests/model/test_import_direction.py`` checks it).
"""
