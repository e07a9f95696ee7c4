"""Issue 18, item 8: patients see patients' pages and one "For clinicians" entry; clinicians' pages appear
once signed in (administrators' pages for administrators); the main action is first on Home."""
from __future__ import annotations

from dataclasses import dataclass

from pages import _nav as nav
from tests.app.conftest import assert_clean, sign_in, texts


@dataclass
class Who:
    is_admin: bool


def visible(clinician) -> list[str]:
    return [e.title for entries in nav.menu(clinician).values() for e in entries if e.visible]


def test_menu_by_who_is_signed_in() -> None:
    assert visible(None) == ["Home", "New consultation", "My consultation", "For clinicians (sign in)", "Model"]
    assert visible(Who(False)) == ["Home", "New consultation", "My consultation", "Queue", "Review", "Reader study",
                                   "Model"]
    assert visible(Who(True)) == ["Home", "New consultation", "My consultation", "Queue", "Review", "Reader study",
                                  "Study set-up", "Study results", "Accounts", "Model"]
    # every page is routed whoever is signed in (hidden ones ask for a sign-in themselves)
    assert {e.path for es in nav.menu(None).values() for e in es} == {
        e.path for es in nav.menu(Who(True)).values() for e in es}


def in_order(node) -> list:
    children = getattr(node, "children", None)
    if not children:
        return [node]
    return [leaf for key in sorted(children) for leaf in in_order(children[key])]


def test_the_main_action_is_first_on_home(at) -> None:
    assert_clean(at)
    elements = [e for e in in_order(at.main) if getattr(e, "type", None) in ("markdown", "page_link", "alert")
                or type(e).__name__ in ("Markdown", "PageLink", "Warning")]
    kinds = [type(e).__name__ for e in elements]
    first_link = next(i for i, e in enumerate(elements) if type(e).__name__ == "PageLink"
                      or getattr(e, "type", None) == "page_link")
    first_text = next(i for i, e in enumerate(elements) if "What it is" in str(getattr(e, "value", "")))
    assert first_link < first_text, kinds


def test_pages_hidden_from_patients_still_ask_for_a_sign_in(at, clinician) -> None:
    at.switch_page("pages/accounts.py").run()
    assert texts(at.subheader) == ["Clinician sign-in"]
    sign_in(at)
    assert_clean(at)
