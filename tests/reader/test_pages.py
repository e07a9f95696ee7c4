"""AppTest suites for the reader-study pages: reading (both passes), set-up and results (the app's fixtures)."""
from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sqlalchemy import select

from db.audit import list_events
from db.consultations import claim, record_review
from db.models import Consultation, Reading, ReaderStudy, StudyCase, StudyReader
from db.reader_study import create_study, record_reading
from db.users import create_user
from pages._wording import about_percent
from tests.app.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    _fast_password_hashing,
    _navigation_mode,
    app_env,
    assert_clean,
    at,
    database,
    fake_predictor,
    seed_consultation,
    sign_in,
    texts,
)
from tests.factories import image_bytes
from tests.reader.builders import answer, new_cases

TRUTHS = ["psoriasis", "seborrheic_dermatitis", "psoriasis", "seborrheic_dermatitis"]


@pytest.fixture
def people(database):
    """root (admin), ann and bob (dermatologists)."""
    with database.begin() as s:
        return (create_user(s, "root", PASSWORD, "admin"), create_user(s, "ann", PASSWORD),
                create_user(s, "bob", PASSWORD))


@pytest.fixture
def study_id(database, people) -> int:
    root, ann, bob = people
    with database.begin() as s:
        return create_study(s, root, "pilot", new_cases(TRUTHS, [0.9, 0.4, 0.6, 0.2]), [ann.id, bob.id],
                            source="folder", model_version="fake-1", model_sha256="f" * 64, threshold=0.5,
                            seed=5).id


def open_page(at, page: str, username: str):
    sign_in(at, username)
    return at.switch_page(page).run()


def order(database, username: str) -> tuple[list[int], list[int]]:
    with database.session() as s:
        reader = s.scalar(select(StudyReader).join(StudyReader.user).where(StudyReader.user.has(username=username)))
        return reader.unaided_order, reader.aided_order


def current_form(at):
    case = at.subheader[0].value  # "Case k of n · with/without the model"
    dx = next(r for r in at.radio if r.key.startswith("rs_dx_"))
    conf = next(n for n in at.number_input if n.key.startswith("rs_conf_"))
    submit = next(b for b in at.button if b.label == "Save and next")
    return case, dx, conf, submit


# --- reader ------------------------------------------------------------------------------------------
def test_reader_page_needs_sign_in_and_an_invitation(at, people) -> None:
    at.switch_page("pages/reader_study.py").run()
    assert texts(at.subheader) == ["Clinician sign-in"]
    open_page(at, "pages/reader_study.py", "ann")
    assert_clean(at)
    assert any("not been invited" in i for i in texts(at.info))


def test_reader_reads_both_passes(at, database, study_id) -> None:
    unaided, aided = order(database, "ann")
    open_page(at, "pages/reader_study.py", "ann")
    assert_clean(at)
    assert "Study: **pilot**" in texts(at.caption)
    assert any("Pass 1, without the model" in i for i in texts(at.info))

    _, dx, conf, submit = current_form(at)
    assert dx.value is None and conf.value == 3 and dx.options == ["Psoriasis", "Seborrheic dermatitis"]
    submit.click().run()  # no diagnosis chosen
    assert texts(at.error) == ["Choose a diagnosis before saving."]

    scores = {}
    for pass_number, case_ids in ((1, unaided), (2, aided)):
        for sequence, case_id in enumerate(case_ids, start=1):
            case, dx, conf, submit = current_form(at)
            assert case == f"Case {sequence} of 4 · {'with' if pass_number == 2 else 'without'} the model"
            if pass_number == 1:
                assert len(at.image) == 1 and not any("Psoriasis" in m for m in texts(at.markdown))
            else:
                assert len(at.image) == 2 and any(re.search(r"Psoriasis about \d+%", m) for m in texts(at.markdown))
            score = 10 - sequence if pass_number == 2 else 3 + sequence
            diagnosis, confidence = answer(score)
            dx.set_value("Psoriasis" if diagnosis == "psoriasis" else "Seborrheic dermatitis")
            conf.set_value(confidence)
            submit.click().run()
            assert_clean(at)
            scores[(pass_number, case_id)] = (diagnosis, confidence)
    assert any("read every case in both passes" in s for s in texts(at.success))
    with database.session() as s:
        readings = list(s.scalars(select(Reading).order_by(Reading.id)))
    assert [(r.pass_number, r.case_id) for r in readings] == [(1, c) for c in unaided] + [(2, c) for c in aided]
    assert {(r.pass_number, r.case_id): (r.diagnosis, r.confidence) for r in readings} == scores
    assert all(r.seconds is not None and r.seconds >= 0 for r in readings)


def test_aided_pass_shows_the_models_output(at, database, study_id, people) -> None:
    root, ann, _ = people
    unaided, aided = order(database, "ann")
    for case_id in unaided:
        with database.begin() as s:
            record_reading(s, study_id, ann, case_id, 1, "psoriasis", 2)
    open_page(at, "pages/reader_study.py", "ann")
    with database.session() as s:
        p = s.get(StudyCase, aided[0]).p_psoriasis
    assert any(f"Psoriasis {about_percent(p)}" in m and "referral threshold 50%" in m for m in texts(at.markdown))
    assert any("Pass 2, with the model" in i for i in texts(at.info))
    assert len(at.image) == 2 and any("threshold" not in c and "P ≥ 0.50" in c for c in texts(at.caption))


# --- set-up ------------------------------------------------------------------------------------------
def test_set_up_is_for_admins(at, people) -> None:
    open_page(at, "pages/reader_admin.py", "ann")
    assert_clean(at)
    assert any("Only administrators" in w for w in texts(at.warning))
    at.switch_page("pages/reader_results.py").run()
    assert any("Only administrators" in w for w in texts(at.warning))


def test_admin_creates_a_study_from_a_folder(at, database, people, fake_predictor, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SCALPSCOPE_STUDY_ROOT", str(tmp_path))  # folders are confined to this root
    folder = tmp_path / "study"
    for index, truth in enumerate(["psoriasis", "psoriasis", "seborrheic_dermatitis", "seborrheic_dermatitis"]):
        (folder / truth).mkdir(parents=True, exist_ok=True)
        (folder / truth / f"{index}.jpg").write_bytes(image_bytes("JPEG", 120, 90, seed=index))
    (folder / "psoriasis" / "broken.jpg").write_bytes(b"not a picture")
    open_page(at, "pages/reader_admin.py", "root")
    assert_clean(at)
    assert at.title[0].value == "Study set-up" and "No reader study yet." in texts(at.caption)
    at.text_input(key="ra_name").input("Folder study")
    at.radio(key="ra_source").set_value("folder").run()
    at.text_input(key="ra_folder").input(str(folder))
    at.multiselect(key="ra_readers").select(people[1].id).select(people[2].id)
    at.number_input(key="ra_seed").set_value(17)
    at.button(key="ra_create").click().run()
    assert_clean(at)
    assert texts(at.success) == ["Study 'Folder study' created: 4 cases, 2 readers, 1 unreadable images skipped."]
    assert at.text_input(key="ra_name").value == "" and at.multiselect(key="ra_readers").value == []  # fresh form
    assert len(at.warning) == 1 and "broken.jpg" in at.warning[0].value
    assert fake_predictor.calls == 4
    with database.session() as s:
        study = s.scalar(select(ReaderStudy))
        cases = list(s.scalars(select(StudyCase).order_by(StudyCase.position)))
        assert (study.name, study.seed, study.source, study.model_version) == ("Folder study", 17, "folder", "fake-1")
        assert [c.truth for c in cases] == ["psoriasis", "psoriasis", "seborrheic_dermatitis", "seborrheic_dermatitis"]
        assert all(c.p_psoriasis == 0.8 and c.mime == "image/jpeg" and c.overlay_png[:4] == b"\x89PNG" for c in cases)
        assert [c.source_ref for c in cases][0] == "file:psoriasis/0.jpg"
        assert len(list_events(s, action="study.create")) == 1
    assert at.dataframe[0].value["Study"].tolist() == ["Folder study"]


def test_admin_creates_a_study_from_consultations_and_invites(at, database, people, fake_predictor) -> None:
    root, ann, bob = people
    for diagnosis in ["psoriasis", "seborrheic_dermatitis", "seborrheic_dermatitis"]:
        public_id, _ = seed_consultation(database)
        with database.begin() as s:
            consultation_id = s.scalar(select(Consultation.id).where(Consultation.public_id == public_id))
            claim(s, consultation_id, ann)
            record_review(s, consultation_id, ann, diagnosis)
    open_page(at, "pages/reader_admin.py", "root")
    assert any("1 psoriasis, 2 seborrheic dermatitis" in c for c in texts(at.caption))
    at.text_input(key="ra_name").input("From the queue")
    at.multiselect(key="ra_readers").select(ann.id)
    at.button(key="ra_create").click().run()
    assert_clean(at)
    assert texts(at.success) == ["Study 'From the queue' created: 3 cases, 1 readers."]
    at.multiselect(key="ra_invite_readers").select(bob.id).run()
    at.button(key="ra_invite").click().run()
    assert texts(at.success) == ["Invited bob to 'From the queue'."]
    with database.session() as s:
        assert s.scalar(select(ReaderStudy)).source == "consultations"
        assert len(list(s.scalars(select(StudyReader)))) == 2


# --- results -----------------------------------------------------------------------------------------
def test_results_page_figures(at, database, study_id, people) -> None:
    root, ann, bob = people
    plan = {("ann", 1): [7, 4, 3, 5], ("ann", 2): [9, 2, 8, 3], ("bob", 1): [6, 6, 4, 2], ("bob", 2): [8, 4, 7, 1]}
    for reader in (ann, bob):
        for pass_number in (1, 2):
            case_ids = order(database, reader.username)[pass_number - 1]
            with database.session() as s:
                position = {c.id: c.position for c in s.scalars(select(StudyCase))}
            for case_id in case_ids:
                score = plan[(reader.username, pass_number)][position[case_id]]
                with database.begin() as s:
                    record_reading(s, study_id, reader, case_id, pass_number, *answer(score))
    open_page(at, "pages/reader_results.py", "root")
    assert_clean(at)
    truth = [1, 0, 1, 0]
    table = at.table[0].value
    assert table["Reader"].tolist() == ["ann", "ann", "bob", "bob", "Model alone"]
    for row, (reader, pass_number) in zip(table.itertuples(), [("ann", 1), ("ann", 2), ("bob", 1), ("bob", 2)]):
        scores = np.array(plan[(reader, pass_number)])
        assert row.AUC == f"{roc_auc_score(truth, scores):.3f}"
        decisions = scores >= 6
        assert row.Sensitivity == f"{decisions[[0, 2]].mean():.3f}"
        assert row.Specificity == f"{(~decisions[[1, 3]]).mean():.3f}"
    assert table.iloc[4]["AUC"] == f"{roc_auc_score(truth, [0.9, 0.4, 0.6, 0.2]):.3f}"
    assert table.iloc[4]["Sensitivity"] == "1.000" and table.iloc[4]["Specificity"] == "1.000"
    comparison = at.table[1].value
    assert comparison["Reader"].tolist() == ["ann", "bob"] and comparison["Cases read twice"].tolist() == ["4", "4"]
    assert [m.label for m in at.metric] == ["Fleiss' κ, without the model", "Fleiss' κ, with the model"]
    # Unaided: ann says P,S,S,S and bob P,P,S,S: P-bar = 3/4, P_e = (3/8)^2 + (5/8)^2 = 34/64, kappa = 0.467.
    assert [m.value for m in at.metric] == ["0.467", "1.000"]
    download = at.download_button(key="rr_csv")
    assert download.label == "Download every reading (CSV)"
    download.click().run()  # the download's callback audits the export; a rerun is not a new view
    assert_clean(at)
    with database.session() as s:
        assert [e.detail for e in list_events(s, action="study.results_view")] == [{"study_id": study_id, "readings": 16}]
        assert [(e.actor, e.detail) for e in list_events(s, action="study.export")] == [
            ("clinician:root", {"study_id": study_id, "rows": 16})]


def test_results_page_before_any_reading(at, database, study_id) -> None:
    open_page(at, "pages/reader_results.py", "root")
    assert_clean(at)
    assert at.table[0].value["Cases read"].tolist() == ["0 of 4"] * 4 + ["4 of 4"]
    assert at.table[0].value["AUC"].tolist()[:4] == ["—"] * 4
    assert [m.value for m in at.metric] == ["—", "—"]
    assert "Curves appear once a reader has read cases of both kinds." in texts(at.caption)
    assert at.download_button(key="rr_csv").proto.disabled


def test_results_page_edges_read_not_estimable(at, database, people) -> None:
    """5 cases, AUC 1.000 unaided vs 0.500 aided: no z, so no DeLong p ("< 0.001" before), no 1.000–1.000
    CI, and the exact permutation p = 2/32 beside its statistic (the difference)."""
    root, ann, _ = people
    truths = ["psoriasis", "psoriasis", "seborrheic_dermatitis", "seborrheic_dermatitis", "seborrheic_dermatitis"]
    with database.begin() as s:
        sid = create_study(s, root, "edges", new_cases(truths), [ann.id], source="folder", model_version="fake-1",
                           model_sha256="f" * 64, threshold=0.5, seed=2).id
    with database.session() as s:
        position = {c.id: c.position for c in s.scalars(select(StudyCase).where(StudyCase.study_id == sid))}
    unaided, aided = [9, 8, 2, 3, 1], [5, 5, 5, 5, 5]
    for pass_number, scores in ((1, unaided), (2, aided)):
        for case_id in order(database, "ann")[pass_number - 1]:
            with database.begin() as s:
                record_reading(s, sid, ann, case_id, pass_number, *answer(scores[position[case_id]]))
    open_page(at, "pages/reader_results.py", "root")
    assert_clean(at)
    table = at.table[0].value
    assert table["AUC"].tolist()[:2] == ["1.000", "0.500"]
    assert table["AUC 95% CI"].tolist()[:2] == ["not estimable", "not estimable"]
    row = at.table[1].value.iloc[0]
    assert row["Difference"] == "-0.500"
    assert row["z (paired DeLong)"] == "not estimable" and row["p (paired DeLong)"] == "not estimable"
    assert row["p (paired permutation, statistic: the difference)"] == "0.0625 (exact, 32 relabellings)"


def test_study_selector_keeps_its_choice_as_the_reader_progresses(at, database, study_id, people) -> None:
    """The browser sends a select box's choice back as its label text: labels that carried the reading
    count went stale after each reading (the selector lagged one reading behind the progress bar)."""
    root, ann, _ = people
    with database.begin() as s:
        second = create_study(s, root, "second", new_cases(TRUTHS), [ann.id], source="folder",
                              model_version="fake-1", model_sha256="f" * 64, threshold=0.5, seed=3).id
    open_page(at, "pages/reader_study.py", "ann")
    assert_clean(at)
    selector = at.selectbox(key="rs_study")
    assert selector.value == study_id and selector.options == ["pilot", "second"]
    selector.set_value(second).run()
    labels = at.selectbox(key="rs_study").options
    for expected in (1, 2):
        _, dx, _, submit = current_form(at)
        dx.set_value("Psoriasis")
        submit.click().run()
        assert_clean(at)
        assert at.selectbox(key="rs_study").options == labels  # the text the browser holds still matches
        assert at.selectbox(key="rs_study").value == second
        assert f"second (pass 1 · {expected} of 8 readings)" in texts(at.caption)


def test_a_missing_folder_leaves_no_progress_bar_and_keeps_the_list(at, database, study_id, people, fake_predictor,
                                                                    tmp_path, monkeypatch) -> None:
    """Issue 18, item 11: 'Collecting the images…' stayed on screen and the list of studies vanished."""
    monkeypatch.setenv("SCALPSCOPE_STUDY_ROOT", str(tmp_path))
    open_page(at, "pages/reader_admin.py", "root")
    at.text_input(key="ra_name").input("Nowhere")
    at.radio(key="ra_source").set_value("folder").run()
    at.text_input(key="ra_folder").input(str(tmp_path / "no-such-folder"))
    at.multiselect(key="ra_readers").select(people[1].id)
    at.button(key="ra_create").click().run()
    assert not at.exception
    assert len(at.error) == 1
    assert not at.get("progress")  # the bar is gone
    assert "Studies" in texts(at.subheader) and at.dataframe[0].value["Study"].tolist() == ["pilot"]
