"""What a submission is made of: the patient's answers, the stored images, and the model's output.

The model's output is not copied into a type of its own: anything with the fields of :class:`ModelOutput`
is stored as it is (``scalp_model.serving.predictor.Prediction`` is such a record; ``db`` never imports the model).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from db.errors import ValidationError
from db.models import Course, Status
from i18n import N_

MIME_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
MAX_IMAGES = 3  # photos in one submission or one answer to a request; the page offers the same
MAX_FREE_TEXT = 4000
MAX_TREATMENT = 200  # consultations.previous_treatment is String(200)
MAX_NOTES = 4000
MAX_CONSENT_VERSION = 32
# The language a consultation was submitted in: a locale identifier ("en", "zh_CN", "zh_Hant_TW"), at most 16.
LANGUAGE_FORM = re.compile(r"[a-z]{2,3}(_[A-Za-z]{2,4}){0,2}")
# The answers the New consultation page offers; nothing else is stored (a modified client can send anything).
AGE_BANDS = ("under 18", "18–39", "40–64", "65 or older")
SEXES = ("female", "male", "other / prefer not to say")
DURATIONS = ("under 4 weeks", "1–6 months", "6–12 months", "over a year")
ITCH_LEVELS = ("none", "mild", "moderate", "severe")
SCALP_SITES = ("hairline", "top", "back", "sides", "behind the ears", "whole scalp")
SCALP_SITE_SEPARATOR = ", "
COURSES = tuple(c.value for c in Course)  # better, same, worse: a follow-up's course since the earlier one
OPEN_STATUSES = (Status.SUBMITTED, Status.IN_REVIEW)
# The consent a patient accepts, shown by the New consultation page and stored by version with every
# consultation; change the version whenever the text changes (a translation too: clinic.consent stores the
# version with the language, e.g. 2026-11-zh_CN, and pins each text).
CONSENT_VERSION = "2026-11"
CONSENT_TEXT = N_(
    "- Your answers and photos are sent to the ScalpScope dermatology service and stored securely. "
    "Location and camera data are removed from the photos before storage.\n"
    "- A computer model gives an estimate right away. It is **not a diagnosis**; a dermatologist reviews "
    "every consultation.\n"
    "- You receive an access code, shown only once. Anyone with the code can read the conclusion.\n"
    "- With your consent, reviewed photos without your name may be used to improve the model.\n"
    "- This service is **not for emergencies**."
)


class Estimate(Protocol):
    """What the queue's rule (:func:`db.consultations.compute_triage`) and the displays read of a prediction:
    ``scalp_model.serving.predictor.Prediction`` and the stored ``db.models.Prediction`` row both have these fields.

    ``p_psoriasis`` and ``threshold`` in [0, 1]; ``label`` is "psoriasis" or "seborrheic_dermatitis".
    """

    @property
    def p_psoriasis(self) -> float: ...
    @property
    def threshold(self) -> float: ...
    @property
    def label(self) -> str: ...
    @property
    def uncertain(self) -> bool: ...
    @property
    def out_of_scope(self) -> bool: ...


class ModelOutput(Estimate, Protocol):
    """The model's output for one image as :func:`db.consultations.submit_consultation` stores it
    (``scalp_model.serving.predictor.Prediction``): provenance (version, checkpoint sha256, temperature), the
    out-of-scope score (None without a gate) and per-stage timings in milliseconds, whose sum is stored as
    ``latency_ms``."""

    @property
    def model_version(self) -> str: ...
    @property
    def model_sha256(self) -> str: ...
    @property
    def temperature(self) -> float: ...
    @property
    def ood_score(self) -> float | None: ...
    @property
    def timings_ms(self) -> Mapping[str, float]: ...


# --- inputs ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PatientHistory:
    """What the patient reported: fixed answers from the lists above, two free texts (checked at submit)."""

    image_source: str
    age_band: str | None = None
    sex: str | None = None
    duration: str | None = None
    itch: str | None = None
    previous_treatment: str | None = None
    scalp_site: str | None = None
    free_text: str | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PatientHistory:
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValidationError(f"Unknown history fields {sorted(unknown)}.")
        return cls(**values)


@dataclass(frozen=True)
class FollowUpOf:
    """A new consultation that follows up an earlier one of the same patient (issue 19): the earlier one's
    access code (the proof that it is the same person; no account) and, optionally, the patient's own word on
    the course since then (one of :data:`COURSES`)."""

    code: str
    course: str | None = None


@dataclass(frozen=True)
class NewImage:
    """An image already sanitised by the caller (oriented, metadata stripped, re-encoded)."""

    data: bytes
    mime: str
    width: int
    height: int
    capture: Mapping[str, Any] = field(default_factory=dict)
    overlay_png: bytes | None = None  # the model's map over this image (stored with its prediction)

