"""Small generated test material: images, predictions, patient history."""

from __future__ import annotations

import io
import socket

import numpy as np
from PIL import Image

from db.consultations import NewImage
from scalp_model.serving.predictor import Prediction, label_for

TEST_PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (16, 12), colour: tuple[int, int, int] = (200, 80, 60)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def new_image(fmt: str = "PNG", colour: tuple[int, int, int] = (200, 80, 60)) -> NewImage:
    mime = {"PNG": "image/png", "JPEG": "image/jpeg"}[fmt]
    return NewImage(image_bytes(fmt, colour=colour), mime, 16, 12, {"source": "phone", "original_format": fmt},
                    overlay_png=image_bytes("PNG", colour=(1, 2, 3)))


def model_output(model_version: str, model_sha256: str, p_psoriasis: float, threshold: float, temperature: float,
                 label: str, uncertain: bool, out_of_scope: bool, latency_ms: float,
                 ood_score: float | None = None) -> Prediction:
    """The model's record (``scalp_model.serving.predictor.Prediction``) as a stored consultation carries it, with a
    blank 1x1 map; ``latency_ms`` becomes its only timing."""
    return Prediction(label=label, p_psoriasis=p_psoriasis, threshold=threshold, uncertain=uncertain,
                      out_of_scope=out_of_scope, ood_score=ood_score, temperature=temperature,
                      model_version=model_version, model_sha256=model_sha256, cam=np.zeros((1, 1), np.float32),
                      timings_ms={"model": latency_ms})


def new_prediction(p: float = 0.7, *, uncertain: bool = False, out_of_scope: bool = False) -> Prediction:
    return model_output("test-1", "0" * 64, p, 0.5, 1.2, label_for(p, 0.5), uncertain, out_of_scope, 12.5,
                        ood_score=0.1)


HISTORY = {
    "image_source": "phone",
    "age_band": "18–39",  # fixed answers: one of the lists in db.consultations
    "sex": "female",
    "duration": "1–6 months",
    "itch": "moderate",
    "previous_treatment": "ketoconazole shampoo",
    "scalp_site": "top, back",
    "free_text": "flaky patches SECRET-TEXT",
}
