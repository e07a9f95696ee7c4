"""The New consultation form across page switches and interrupted submissions (issue 16, items 4 and 5).

AppTest runs the page as the server does: a run that does not draw a widget forgets its value, exactly
what opening *My consultation* does. The real-browser versions (a double click while the consultation is
being saved, a sidebar click at that moment) are in ``test_browser_unfinished_form.py``.
"""
from __future__ import annotations

from sqlalchemy import func, select

from db.consultations import lookup_by_code
from db.models import Consultation, ConsultImage
from pages import _report as report
from pages import _views as views
from tests.app.conftest import assert_clean, shown_access_code, texts
from tests.app.test_new_consultation import add_photos, count, jpeg, open_page, submit

MY = "pages/my_consultation.py"


def fill(at):
    at.selectbox(key="nc_age").select("40–64")
    at.multiselect(key="nc_sites").select("top")
    at.text_input(key="nc_treatment").input("tar shampoo")
    at.text_area(key="nc_text").input("Itches after washing.")
    return add_photos(at, jpeg(1), jpeg(2))


def test_answers_and_photos_survive_another_page(at, fake_predictor, database):
    open_page(at)
    fill(at)
    at.switch_page(MY).run()
    assert_clean(at)
    open_page(at)
    assert_clean(at)
    assert at.checkbox(key="nc_consent").value is True
    assert at.selectbox(key="nc_age").value == "40–64" and at.multiselect(key="nc_sites").value == ["top"]
    assert at.text_input(key="nc_treatment").value == "tar shampoo"
    assert at.text_area(key="nc_text").value == "Itches after washing."
    assert any("are kept" in i for i in texts(at.info))
    assert [b.key for b in at.button if b.key.startswith("nc_remove_")] == ["nc_remove_0", "nc_remove_1"]
    at.switch_page(MY).run()  # twice: kept photos stay kept, nothing is doubled
    open_page(at)
    assert [b.key for b in at.button if b.key.startswith("nc_remove_")] == ["nc_remove_0", "nc_remove_1"]
    submit(at)
    assert shown_access_code(at)
    with database.begin() as session:
        assert session.scalar(select(func.count()).select_from(ConsultImage)) == 2
        stored = session.scalar(select(Consultation))
        assert (stored.age_band, stored.previous_treatment) == ("40–64", "tar shampoo")
    at.button(key="nc_restart").click().run()  # the next consultation starts empty
    assert not at.checkbox(key="nc_consent").value and at.selectbox(key="nc_age").value is None
    assert not [b for b in at.button if b.key.startswith("nc_remove_")]


def test_a_kept_photo_can_be_removed(at, fake_predictor, database):
    open_page(at)
    fill(at)
    at.switch_page(MY).run()
    open_page(at)
    at.button(key="nc_remove_0").click().run()
    assert [b.key for b in at.button if b.key.startswith("nc_remove_")] == ["nc_remove_0"]
    assert any("scalp2.jpg" in m for m in texts(at.markdown))
    assert not any("scalp1.jpg" in m for m in texts(at.markdown))
    submit(at)
    with database.begin() as session:
        assert session.scalar(select(func.count()).select_from(ConsultImage)) == 1


def test_a_run_ended_after_the_commit_is_sent_again_without_a_second_consultation(
        at, fake_predictor, database, monkeypatch):
    """The run is cut right after the consultation was committed (here by an error where a click would stop
    it): the next Submit finds the stored consultation and shows its code; nothing is stored twice."""
    real = report.summary_filename
    calls = []

    def cut_once(created):
        calls.append(created)
        if len(calls) == 1:
            raise RuntimeError("run interrupted after the commit")
        return real(created)

    monkeypatch.setattr(report, "summary_filename", cut_once)
    open_page(at)
    add_photos(at, jpeg())
    at.button(key="nc_submit").click().run()
    assert at.exception and count(database, Consultation) == 1 and not shown_access_code(at)
    open_page(at)
    submit(at)
    assert_clean(at)
    code = shown_access_code(at)
    assert code and count(database, Consultation) == 1
    with database.begin() as session:
        assert lookup_by_code(session, code) is not None  # the code shown opens the one stored consultation


def test_a_code_whose_results_were_cut_short_is_shown_on_other_pages(at, fake_predictor, database, monkeypatch):
    real = views.probability_bar
    calls = []

    def cut_once(*args):
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("the patient opened another page")
        return real(*args)

    monkeypatch.setattr(views, "probability_bar", cut_once)
    open_page(at)
    add_photos(at, jpeg())
    at.button(key="nc_submit").click().run()
    assert at.exception
    at.switch_page(MY).run()
    assert_clean(at)
    reminder = shown_access_code(at)
    assert reminder and any("stored while you opened another page" in w for w in texts(at.warning))
    with database.begin() as session:
        assert lookup_by_code(session, reminder) is not None
    open_page(at)  # the results page drawn in full: the reminder goes away
    assert shown_access_code(at) == reminder
    at.switch_page(MY).run()
    assert not shown_access_code(at) and not any("stored while" in w for w in texts(at.warning))
    assert count(database, Consultation) == 1
