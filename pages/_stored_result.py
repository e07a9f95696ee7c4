"""What the results page shows of a consultation just stored, built right after its commit (plain Python).

Between a consultation's commit and the moment its result is in the form's outbox, a run must make no
Streamlit call, ``st.session_state`` included: Streamlit ends a run that a click has replaced at its next
call, and the access code would be lost (``pages/_draft.py``). So :func:`result_of` takes the session's
language as an argument and looks up its words in it (:func:`i18n.in_language`), never in the session.
"""
from __future__ import annotations

import functools
import logging
import threading
from typing import Any

from clinic.consent import consent_for
from clinic.submit import Submitted
from db.consultations import FollowUpOf
from db.models import utcnow
from i18n import N_, _, in_language
from i18n.formats import long_date
from pages import _report as report
from pages import _views as views
from pages._wording import answer

log = logging.getLogger("scalpscope.app")

SOURCES = {"phone": N_("Phone or camera"), "dermoscope": N_("Dermoscope")}  # the form's "Photos taken with"


def result_of(submitted: Submitted, history: dict, language: str, earlier: dict | None = None,
              follow_up_of: FollowUpOf | None = None, consent_version: str | None = None) -> dict[str, Any]:
    """What ``show_results`` shows of a stored consultation: {"code", "analyses", "pdf_name", "follow_up",
    "follow_up_since", "make_pdf"} (the PDF is built later, once, by :func:`pdf_of`).

    ``history``: the form's answers as stored; ``language``: the session's, read before the commit (the PDF's
    words are in it); ``earlier``: the follow-up's earlier consultation ({"code", "since"}), with the patient's
    course in ``follow_up_of``. Makes no Streamlit call.
    """
    with in_language(language):
        created, code = utcnow(), submitted.code
        since = long_date(earlier["since"]) if earlier and earlier.get("since") else None
        course = follow_up_of.course if follow_up_of is not None else None
        return {
            "code": code, "analyses": list(submitted.analyses), "pdf_name": report.summary_filename(created),
            "follow_up_since": since if earlier else None, "follow_up": earlier is not None,
            "make_pdf": functools.partial(
                report.summary_pdf, created=created, access_code=code, model_version=submitted.model_version,
                consent_version=consent_version or consent_for(language).version, language=language,
                history={_("Age"): answer(history["age_band"]), _("Sex"): answer(history["sex"]),
                         _("Duration"): answer(history["duration"]), _("Itch"): answer(history["itch"]),
                         _("Scalp site"): answer(history["scalp_site"]),
                         _("Treatments tried"): history["previous_treatment"],
                         _("Photos taken with"): _(SOURCES[history["image_source"]]),
                         _("In your words"): history.get("free_text"),
                         _("Follow-up of"): _("your consultation of {date}").format(date=since) if since else None,
                         _("Since then"): views.course_patient(course)},
                photos=[report.PhotoSummary(image.data, image.overlay_png, analysis.prediction.p_psoriasis,
                                            views.verdict(analysis.prediction)[1], analysis.prediction.out_of_scope)
                        for image, analysis in zip(submitted.images, submitted.analyses)]),
        }


def pdf_of(result: dict[str, Any]) -> bytes | None:
    """The PDF summary of :func:`result_of`'s result, built on first use and kept in it; None (and logged) if
    it cannot be made: the access code still shows. One build at a time per result (another tab of this browser
    waits for it); a run stopped midway (a second click on Submit reruns the page) leaves the recipe in place,
    so the next run builds the PDF instead of reporting it lost."""
    with result.setdefault("pdf_lock", threading.Lock()):
        if "pdf" not in result:
            try:
                result["pdf"] = result["make_pdf"]()
            except Exception:  # noqa: BLE001 - an optional extra must not hide the access code
                log.exception("PDF summary failed")
                result["pdf"] = None
            result.pop("make_pdf", None)  # built (or failed for good): its photos need not stay in memory
    return result["pdf"]
