"""Small generated test material: images, predictions, patient history."""

from __future__ import annotations

import io
import socket

from PIL import Image

from db.consultations import NewImage, NewPrediction

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
    return NewImage(image_bytes(fmt, colour=colour), mime, 16, 12, {"source": "phone", "original_format": fmt})


def new_prediction(p: float = 0.7, *, uncertain: bool = False, out_of_scope: bool = False) -> NewPrediction:
    return NewPrediction(
        model_version="test-1",
        model_sha256="0" * 64,
        p_psoriasis=p,
        threshold=0.5,
        temperature=1.2,
        label="psoriasis" if p >= 0.5 else "seborrheic_dermatitis",
        uncertain=uncertain,
        out_of_scope=out_of_scope,
        latency_ms=12.5,
        ood_score=0.1,
        overlay_png=image_bytes("PNG", colour=(1, 2, 3)),
    )


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
