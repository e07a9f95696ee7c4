"""One checkpoint file: weights plus the metadata every consumer reads (never copied by hand).

The file is a plain ``torch.save`` dict loaded with ``weights_only=True`` so that a hostile file cannot
run code. A model card ``<name>.md`` beside it carries the file's sha256; a mismatch means the file was
changed or truncated after the card was written.
"""
from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import WeightsCorruptError, WeightsMismatchError, WeightsMissingError
from .architectures import ARCHITECTURES, get_architecture
from .network import IMAGENET_MEAN, IMAGENET_STD, MAP_LAYER, ScalpNet

FORMAT = "scalpscope-checkpoint/1"
CLASS_NAMES = ("psoriasis", "seborrheic_dermatitis")
POSITIVE_CLASS = "psoriasis"


def softmax_positive(logits: np.ndarray, positive_index: int, temperature: float = 1.0) -> np.ndarray:
    """Probability of one class from a batch of logits, temperature-scaled; training (before a ModelMeta
    exists) and inference share it so the card's figures and the app's probabilities are computed alike."""
    z = np.asarray(logits) / float(temperature)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True))[:, positive_index]


@dataclass(frozen=True)
class ModelMeta:
    """Everything inference needs besides the weights, written by training and read everywhere else
    (after MONAI's bundle ``metadata.json``: input shape and value range, labels, provenance).

    - ``class_names``: output order of the logits; must be ``CLASS_NAMES`` in some order.
    - ``input_size``: side in pixels of the square model input (224: the whole picture resized, no crop);
      ``mean``/``std``: per-channel RGB statistics on the 0..1 scale that standardise it (ImageNet's by default);
      ``transform_input``: torchvision GoogLeNet's own re-standardisation (on for its ImageNet weights).
    - ``architecture``: the network, one of :data:`scalp_model.serving.architectures.ARCHITECTURES`
      (``googlenet``, the default and the paper's, or ``efficientnet_lite0``); any other name is refused on load.
    - ``cam_target_layer``: the block whose maps are served; the app needs the architecture's last block
      (``inception5b`` for GoogLeNet, ``head_activation`` for EfficientNet-Lite0).
    - ``temperature``: > 0, divides the logits before the softmax (temperature scaling, Guo et al. 2017).
    - ``threshold``: P(psoriasis) at or above which the label is psoriasis, 0..1; ``uncertain_band``: half-width
      of the band around it reported as uncertain, 0..1.
    - ``ood_threshold``: out-of-scope score above which a photo is flagged (unitless, see
      :func:`scalp_model.serving.ood.gate_scores`); ``None`` when no gate was fitted.
    - ``version``, ``created`` (ISO 8601 UTC), ``training`` (recipe, data, command), ``metrics`` (held-out
      figures with confidence intervals), ``quantization`` (int8 activation ranges and the held-out change
      they cause, written by ``python -m scalp_model quantize``).
    """

    architecture: str = "googlenet"
    class_names: tuple[str, ...] = CLASS_NAMES
    input_size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    transform_input: bool = False
    cam_target_layer: str = MAP_LAYER
    temperature: float = 1.0
    threshold: float = 0.5
    uncertain_band: float = 0.1
    ood_threshold: float | None = None
    version: str = "untrained"
    created: str = ""
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    quantization: dict[str, Any] = field(default_factory=dict)  # written by 'python -m scalp_model quantize'

    @classmethod
    def for_architecture(cls, architecture: str = "googlenet", **changes: Any) -> "ModelMeta":
        """The defaults for ``architecture``: its input standardisation (``mean``/``std``) and served map layer
        (``cam_target_layer``), then ``changes``. Raises ``WeightsMismatchError`` for an unknown architecture."""
        arch = get_architecture(architecture)
        base = {"architecture": arch.name, "mean": arch.mean, "std": arch.std, "cam_target_layer": arch.map_layer}
        return cls(**{**base, **changes})

    @property
    def positive_index(self) -> int:
        return self.class_names.index(POSITIVE_CLASS)

    def positive_probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probability of psoriasis (temperature-scaled softmax) for a batch of logits."""
        return softmax_positive(logits, self.positive_index, self.temperature)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["class_names"] = list(self.class_names)
        data["mean"], data["std"] = list(self.mean), list(self.std)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelMeta":
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        for key in ("class_names", "mean", "std"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)


class Checkpoint:
    """A loaded checkpoint: its metadata, the file's identity and the network in eval mode.

    The network is built from the weights on first use of :attr:`model` (thread-safe), so a process whose
    engine comes from a verified ONNX cache never imports torchvision (see ``scalp_model.serving.engine``).
    """

    def __init__(self, meta: ModelMeta, sha256: str, path: Path | None, state_dict: dict[str, torch.Tensor],
                 ood_state: dict[str, torch.Tensor] | None = None) -> None:
        self.meta, self.sha256, self.path = meta, sha256, path
        self.ood_state = dict(ood_state or {})
        self._model: ScalpNet | None = None
        self._state_dict: dict[str, torch.Tensor] | None = state_dict
        self._lock = threading.Lock()

    @property
    def model(self) -> ScalpNet:
        with self._lock:
            if self._model is None:
                assert self._state_dict is not None  # dropped only once the network holds the weights
                self._model = _build_model(self._state_dict, self.meta, self.path)
                self._state_dict = None
            return self._model


def _build_model(state_dict: dict[str, torch.Tensor], meta: ModelMeta, path: Path | None) -> ScalpNet:
    """The network of ``meta.architecture`` holding ``state_dict``; ``WeightsMismatchError`` when they do not fit."""
    arch = get_architecture(meta.architecture)
    try:
        net = arch.build(len(meta.class_names), meta.transform_input)
    except (ImportError, ValueError) as exc:
        raise WeightsMismatchError(f"{path}: cannot build {arch.label} for this checkpoint ({exc})") from exc
    try:
        net.backbone.load_state_dict(state_dict)
    except (RuntimeError, KeyError) as exc:
        raise WeightsMismatchError(f"{path}: weights do not fit {arch.label} with a 2-class head ({exc})") from exc
    return net.eval()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def card_path(weights: Path) -> Path:
    return weights.with_suffix(".md")


_SHA_LINE = re.compile(r"sha256[^0-9a-f]{0,20}([0-9a-f]{64})", re.IGNORECASE)


def card_sha256(card: Path) -> str | None:
    """The sha256 recorded in a model card, or None where the card names none."""
    match = _SHA_LINE.search(card.read_text(encoding="utf-8"))
    return match.group(1).lower() if match else None


def save_checkpoint(
    path: Path, model: ScalpNet, meta: ModelMeta, ood_state: dict[str, torch.Tensor] | None = None
) -> str:
    """Write atomically (temp file then rename) and return the file's sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "meta": meta.to_dict(),
        "state_dict": {k: v.detach().cpu().contiguous() for k, v in model.backbone.state_dict().items()},
        "ood": {k: v.detach().cpu() for k, v in (ood_state or {}).items()},
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return file_sha256(path)


def load_checkpoint(path: Path | str, *, check_card: bool = True, lazy: bool = False) -> Checkpoint:
    """Load and verify a checkpoint; every failure is one named error with what to do next.

    ``lazy``: build the network only when ``.model`` is first used (a ``WeightsMismatchError`` then comes
    from there). The predictor loads lazily: with a verified ONNX cache for this file's sha256 it never
    needs the network, and that cache exists only if the network was built from these exact bytes before.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsMissingError(
            f"No model weights at {path}. Set SCALPSCOPE_WEIGHTS to a checkpoint made by "
            "'python -m scalp_model train', or restore the shipped file with 'git checkout -- weights/'."
        )
    sha = file_sha256(path)
    card = card_path(path)
    if check_card and card.is_file():
        expected = card_sha256(card)
        if expected is not None and expected != sha:
            raise WeightsCorruptError(
                f"{path} does not match its model card {card.name} (sha256 {sha[:12]}… vs {expected[:12]}…): "
                "the file was changed or truncated. Restore it or retrain and rewrite the card."
            )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for broken pickles/zips
        raise WeightsCorruptError(
            f"{path} is not a readable ScalpScope checkpoint ({type(exc).__name__}). "
            "It may be truncated or not a checkpoint at all; restore or retrain it."
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise WeightsMismatchError(f"{path} is not a {FORMAT} file; train one with 'python -m scalp_model train'.")
    meta = ModelMeta.from_dict(payload["meta"])
    if meta.architecture not in ARCHITECTURES or sorted(meta.class_names) != sorted(CLASS_NAMES):
        raise WeightsMismatchError(
            f"{path} was made for {meta.architecture} with classes {list(meta.class_names)}; "
            f"ScalpScope needs {' or '.join(ARCHITECTURES)} with {list(CLASS_NAMES)}."
        )
    state_dict = payload.get("state_dict")
    if not isinstance(state_dict, dict):
        raise WeightsMismatchError(f"{path}: no {get_architecture(meta.architecture).label} weights in the file")
    checkpoint = Checkpoint(meta, sha, path, state_dict, ood_state=payload.get("ood"))
    if not lazy:
        checkpoint.model  # noqa: B018 - builds and checks the network now
    return checkpoint


