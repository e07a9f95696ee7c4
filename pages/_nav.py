"""What the navigation menu lists, by who is signed in (no Streamlit calls: app.py builds the pages).

Patients see the patients' pages and one "For clinicians" entry (the sign-in). Once a clinician is signed
in, the clinicians' pages appear; the study set-up, its results and the accounts only for administrators.
A hidden page is still reachable by its address and still asks for a sign-in (each page checks it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from i18n import N_

# Titles are marked for the catalog here and translated by app.py in the session's language.
PATIENTS, CLINICIANS, ABOUT = N_("Patients"), N_("Clinicians"), N_("About")


@dataclass(frozen=True)
class Entry:
    path: str
    title: str
    icon: str
    visible: bool = True
    default: bool = False


def menu(clinician: Any | None) -> dict[str, list[Entry]]:
    """Sections of the menu for ``clinician`` (None: nobody signed in; ``is_admin`` for administrators)."""
    signed_in = clinician is not None
    admin = bool(signed_in and getattr(clinician, "is_admin", False))
    return {
        PATIENTS: [
            Entry("pages/home.py", N_("Home"), ":material/home:", default=True),
            Entry("pages/new_consultation.py", N_("New consultation"), ":material/add_a_photo:"),
            Entry("pages/my_consultation.py", N_("My consultation"), ":material/key:"),
        ],
        CLINICIANS: [
            Entry("pages/queue.py", N_("Queue") if signed_in else N_("For clinicians (sign in)"),
                  ":material/inbox:" if signed_in else ":material/login:"),
            Entry("pages/review.py", N_("Review"), ":material/stethoscope:", visible=signed_in),
            Entry("pages/reader_study.py", N_("Reader study"), ":material/quiz:", visible=signed_in),
            Entry("pages/reader_admin.py", N_("Study set-up"), ":material/settings:", visible=admin),
            Entry("pages/reader_results.py", N_("Study results"), ":material/monitoring:", visible=admin),
            Entry("pages/accounts.py", N_("Accounts"), ":material/manage_accounts:", visible=admin),
        ],
        ABOUT: [Entry("pages/model.py", N_("Model"), ":material/model_training:")],
    }
