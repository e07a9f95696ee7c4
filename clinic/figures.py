"""Figures for the clinic (issue 19 item 5): turnaround with and without a request for more information,
the share of consultations that needed one, patients' answer time, and dermatologist-model agreement.
One read returns one :class:`ClinicFigures`; its view is audited by :func:`record_view`."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from db import figures
from db.engine import Database
from db.figures import AgreementRow, Durations
from db.models import utcnow
from db.users import Clinician
from scalp_model.metrics.agreement import cohen_kappa
from scalp_model.serving.prediction import label_for

MIN_CASES = 3  # below this a figure is "not enough cases", not a number
MODEL_CLASSES = ("psoriasis", "seborrheic_dermatitis")


@dataclass(frozen=True)
class Agreement:
    """Dermatologist vs the model's label on reviews inside the model's two classes: ``cases`` pairs, of which
    ``agreed`` agree, Cohen's kappa (None when undefined or below :data:`MIN_CASES`), and ``outside``: reviewed
    cases whose diagnosis is outside the model's two classes (not in kappa)."""

    cases: int
    agreed: int
    kappa: float | None
    outside: int


@dataclass(frozen=True)
class ClinicFigures:
    """The figures for submissions since ``since`` (None: all time)."""

    since: datetime | None
    consultations: int
    with_request: int
    turnaround_first_photos: Durations
    turnaround_after_request: Durations
    answer_time: Durations
    agreement: Agreement

    @property
    def request_share(self) -> float | None:
        """Share of consultations with at least one request (None below :data:`MIN_CASES`)."""
        return self.with_request / self.consultations if self.consultations >= MIN_CASES else None


def enough(d: Durations) -> bool:
    """Whether ``d`` holds enough cases to be shown as a figure."""
    return d.count >= MIN_CASES


def agreement(rows: list[AgreementRow]) -> Agreement:
    """Cohen's kappa between ``label_for`` (the one decision rule) and the dermatologist's diagnosis."""
    inside = [r for r in rows if r.diagnosis in MODEL_CLASSES]
    model = [label_for(r.p_psoriasis, r.threshold) for r in inside]
    doctor = [r.diagnosis for r in inside]
    kappa = cohen_kappa(model, doctor) if len(inside) >= MIN_CASES else None
    return Agreement(len(inside), sum(m == d for m, d in zip(model, doctor)), kappa, len(rows) - len(inside))


def clinic_figures(database: Database, *, days: int | None, now: datetime | None = None) -> ClinicFigures:
    """The clinic's figures for consultations submitted in the last ``days`` (None: all time); a read."""
    since = None if days is None else (now or utcnow()) - timedelta(days=days)
    with database.session() as session:
        total, with_request = figures.request_share(session, since=since)
        split = figures.turnaround_split(session, since=since)
        return ClinicFigures(since, total, with_request, split[False], split[True],
                             figures.answer_times(session, since=since),
                             agreement(figures.agreement_rows(session, since=since)))


def record_view(database: Database, clinician: Clinician, *, days: int | None) -> None:
    """Audit that ``clinician`` was shown the figures for the last ``days`` (None: all time)."""
    with database.begin() as session:
        figures.record_figures_view(session, clinician.actor, days=days)
