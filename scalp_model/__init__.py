"""ScalpScope model core: checkpoint, preprocessing, predictor and attention maps (no Streamlit)."""
from .serving.checkpoint import CLASS_NAMES, Checkpoint, ModelMeta, load_checkpoint, save_checkpoint
from .errors import (ImageTooLargeError, InvalidImageError, ScalpScopeError, WeightsCorruptError, WeightsError,
                     WeightsMismatchError, WeightsMissingError)
from .serving.predictor import Analysis, Prediction, Predictor, resolve_device

__all__ = [
    "CLASS_NAMES", "Analysis", "Checkpoint", "ImageTooLargeError", "InvalidImageError", "ModelMeta", "Prediction",
    "Predictor", "ScalpScopeError", "WeightsCorruptError", "WeightsError", "WeightsMismatchError",
    "WeightsMissingError", "load_checkpoint", "resolve_device", "save_checkpoint",
]
