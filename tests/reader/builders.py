"""Generated reader-study material: small sanitised cases with chosen truths and model outputs."""
from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image

from db.reader_study import NewStudyCase
from tests.factories import photo_array

TRUTHS = ("psoriasis", "seborrheic_dermatitis")


def png(seed: int, size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo_array(*size, seed=seed)).save(buffer, format="PNG")
    return buffer.getvalue()


def new_cases(truths: Sequence[str], p_model: Sequence[float] | None = None) -> list[NewStudyCase]:
    """One case per truth, with model probabilities ``p_model`` (default: 0.8 for psoriasis, 0.3 otherwise)."""
    p_model = p_model or [0.8 if t == "psoriasis" else 0.3 for t in truths]
    return [NewStudyCase(data=png(i), mime="image/png", width=40, height=30, truth=t, source_ref=f"file:{t}/{i}.png",
                         p_psoriasis=p, overlay_png=png(100 + i)) for i, (t, p) in enumerate(zip(truths, p_model))]


def answer(score: int) -> tuple[str, int]:
    """(diagnosis, confidence) for a 1-10 rating (inverse of db.reader_study.ordinal_score)."""
    return ("psoriasis", score - 5) if score >= 6 else ("seborrheic_dermatitis", 6 - score)
