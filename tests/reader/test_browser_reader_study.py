"""One two-reader study end to end in a real headless Chromium against ``streamlit run app.py``.

An admin creates a study of 6 generated images (a folder with the truth) in the set-up page, the model
runs in the server; two readers sign in and read both passes through the UI (one resumes in a fresh
browser session, one submits with the keyboard); the admin's results page is checked against figures
computed here, independently, from the same answers; the CSV download is checked against the database.
Screenshots go to ``test-artifacts/reader-*.png``.
"""
from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score
from sqlalchemy import select

from db.engine import Database
from db.models import Reading, ReaderStudy, StudyCase, StudyReader, User
from db.users import create_user
from tests.app.browser import (
    CLINICIAN_ENTRY,
    sign_in,
    STEP_TIMEOUT_MS,
    launch_chromium,
    nav,
    require_chromium,
    settle,
    shoot,
    streamlit_server,
)
from tests.factories import image_bytes, make_checkpoint
from tests.reader.test_reader_stats import brute_force_permutation
from tests.reader.builders import answer

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

PASSWORD = "correct horse battery staple"
TRUTHS = ["psoriasis"] * 3 + ["seborrheic_dermatitis"] * 3  # positions: the folder is scanned in sorted order
# 1-10 ratings each reader gives to the cases at positions 0..5, per pass.
PLAN = {
    ("ann", 1): [7, 4, 8, 6, 3, 2], ("ann", 2): [9, 7, 8, 4, 6, 1],
    ("bob", 1): [6, 5, 3, 7, 2, 4], ("bob", 2): [8, 7, 9, 2, 6, 3],
}
CREATE_MS = 240_000  # the server loads the model for the first time


@pytest.fixture
def setup(tmp_path: Path):
    require_chromium()
    database = Database.from_url(f"sqlite:///{tmp_path / 'reader.db'}")
    database.migrate()
    with database.begin() as s:
        create_user(s, "root", PASSWORD, "admin")
        create_user(s, "ann", PASSWORD)
        create_user(s, "bob", PASSWORD)
    folder = tmp_path / "cases"
    for position, truth in enumerate(TRUTHS):
        (folder / truth).mkdir(parents=True, exist_ok=True)
        (folder / truth / f"case{position}.jpg").write_bytes(image_bytes("JPEG", 320, 240, seed=40 + position))
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'reader.db'}", "SCALPSCOPE_WEIGHTS":
           str(make_checkpoint(tmp_path / "tiny.pt")), "SCALPSCOPE_DEVICE": "cpu", "SCALPSCOPE_BACKEND": "torch",
           "SCALPSCOPE_DEMO": "0", "SCALPSCOPE_STUDY_ROOT": str(tmp_path)}  # study folders are confined to a root
    with streamlit_server(env, "reader-server.log") as url:
        yield url, database, folder
    database.dispose()


def plan_for(database: Database, username: str) -> tuple[list[int], list[int], dict[int, int]]:
    """The reader's stored orders as case positions, and position by case id."""
    with database.session() as s:
        reader = s.scalar(select(StudyReader).join(User, User.id == StudyReader.user_id).where(User.username == username))
        position = {c.id: c.position for c in s.scalars(select(StudyCase))}
        return reader.unaided_order, reader.aided_order, position


def read(page, database: Database, username: str, pass_number: int, sequences: range, *, keyboard: bool) -> None:
    from playwright.sync_api import expect

    unaided, aided, position = plan_for(database, username)
    order = unaided if pass_number == 1 else aided
    setting = "without" if pass_number == 1 else "with"
    for sequence in sequences:
        heading = page.get_by_role("heading", name=f"Case {sequence} of 6 · {setting} the model")
        expect(heading).to_be_visible()
        settle(page)
        score = PLAN[(username, pass_number)][position[order[sequence - 1]]]
        diagnosis, confidence = answer(score)
        radio = page.get_by_test_id("stRadio").filter(has_text="Diagnosis")
        radio.get_by_text("Psoriasis" if diagnosis == "psoriasis" else "Seborrheic dermatitis", exact=True).click()
        field = page.get_by_role("spinbutton", name="Confidence (1–5)")
        field.fill(str(confidence))
        if keyboard:
            field.press("Enter")
        else:
            page.get_by_role("button", name="Save and next").click()
        expect(heading).to_be_hidden()


def brute_force_paired_delong(y, a, b) -> float:
    y, parts = np.asarray(y), []
    for s in (np.asarray(a, float), np.asarray(b, float)):
        psi = (s[y == 1][:, None] > s[y == 0][None, :]) + 0.5 * (s[y == 1][:, None] == s[y == 0][None, :])
        parts.append((psi.mean(), psi.mean(axis=1), psi.mean(axis=0)))
    (auc_a, v10a, v01a), (auc_b, v10b, v01b) = parts
    d10, d01 = v10b - v10a, v01b - v01a  # var(b - a) = var of the differences of the components
    se = math.sqrt(d10.var(ddof=1) / d10.size + d01.var(ddof=1) / d01.size)
    return 2 * norm.sf(abs((auc_b - auc_a) / se))


def table_rows(page, index: int) -> list[list[str]]:
    table = page.get_by_test_id("stTable").nth(index)
    return [[cell.inner_text().strip() for cell in row.locator("th, td").all()] for row in table.locator("tr").all()]


def test_two_reader_study_end_to_end(setup) -> None:
    from playwright.sync_api import expect, sync_playwright

    server, database, folder = setup
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        expect.set_options(timeout=STEP_TIMEOUT_MS)
        try:
            def session(viewport=(1300, 950)):
                page = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                           accept_downloads=True).new_page()
                page.set_default_timeout(STEP_TIMEOUT_MS)
                page.goto(server)
                return page

            # Admin: create the study from the folder, invite both readers.
            admin = session()
            nav(admin, CLINICIAN_ENTRY)
            sign_in(admin, "root", PASSWORD)
            nav(admin, "Study set-up")
            expect(admin.get_by_role("heading", name="Study set-up")).to_be_visible()
            admin.get_by_label("Name", exact=True).fill("E2E study")
            admin.get_by_text("Image folder on the server").click()
            admin.get_by_label("Folder", exact=True).fill(str(folder))
            admin.get_by_label("Folder", exact=True).press("Tab")
            readers = admin.get_by_test_id("stMultiSelect").filter(has_text="Readers")
            for name in ("ann (dermatologist)", "bob (dermatologist)"):
                readers.locator("input").click()
                admin.get_by_role("option", name=name).click()
            admin.keyboard.press("Escape")
            settle(admin)  # the multiselect's rerun has finished
            seed = admin.get_by_role("spinbutton", name="Seed (blank = random)")
            seed.fill("2026")
            seed.press("Tab")
            settle(admin)
            shoot(admin, "reader-01-setup")
            admin.get_by_role("button", name="Create study").click()
            expect(admin.get_by_text("Study 'E2E study' created: 6 cases, 2 readers.")).to_be_visible(timeout=CREATE_MS)
            expect(admin.get_by_label("Name", exact=True)).to_have_value("")  # a fresh form for the next study
            settle(admin)
            shoot(admin, "reader-02-created")
            with database.session() as s:
                study = s.scalar(select(ReaderStudy))
                assert (study.seed, study.source, len(study.readers)) == (2026, "folder", 2)
                p_model = [c.p_psoriasis for c in s.scalars(select(StudyCase).order_by(StudyCase.position))]
                threshold = study.threshold

            # ann: pass 1 with the keyboard, pass 2 with the button.
            ann = session()
            nav(ann, CLINICIAN_ENTRY)
            sign_in(ann, "ann", PASSWORD)
            nav(ann, "Reader study")
            expect(ann.get_by_role("heading", name="Reader study")).to_be_visible()
            expect(ann.get_by_text("Pass 1, without the model.")).to_be_visible()
            expect(ann.get_by_text("attention map")).to_have_count(0)
            settle(ann)
            shoot(ann, "reader-03-unaided")
            read(ann, database, "ann", 1, range(1, 7), keyboard=True)
            expect(ann.get_by_text("Pass 2, with the model.")).to_be_visible()
            expect(ann.get_by_text("The model's attention map (Grad-CAM)")).to_be_visible()
            expect(ann.get_by_text(re.compile(r"^Psoriasis (about \d+%|under 5%|over 95%)$"))).to_be_visible()
            settle(ann)
            shoot(ann, "reader-04-aided")
            read(ann, database, "ann", 2, range(1, 7), keyboard=False)
            expect(ann.get_by_text("You have read every case in both passes")).to_be_visible()

            # bob: three cases, a fresh browser session resumes at case 4.
            bob = session()
            nav(bob, CLINICIAN_ENTRY)
            sign_in(bob, "bob", PASSWORD)
            nav(bob, "Reader study")
            read(bob, database, "bob", 1, range(1, 4), keyboard=False)
            bob.context.close()
            bob = session()
            nav(bob, CLINICIAN_ENTRY)
            sign_in(bob, "bob", PASSWORD)
            nav(bob, "Reader study")
            expect(bob.get_by_text("Pass 1, without the model: 3 of 6")).to_be_visible()
            read(bob, database, "bob", 1, range(4, 7), keyboard=True)
            read(bob, database, "bob", 2, range(1, 7), keyboard=True)
            expect(bob.get_by_text("You have read every case in both passes")).to_be_visible()
            settle(bob)
            shoot(bob, "reader-05-finished")

            # Admin: the results, against figures computed here from the same answers.
            nav(admin, "Study results")
            expect(admin.get_by_role("heading", name="Study results")).to_be_visible()
            expect(admin.get_by_text("24 of 24 readings", exact=False)).to_be_visible()
            expect(admin.get_by_test_id("stTable")).to_have_count(2)
            expect(admin.locator("[data-testid='stImage'] img")).to_have_count(2)
            settle(admin)
            shoot(admin, "reader-06-results")
            y = np.array([t == "psoriasis" for t in TRUTHS], dtype=int)
            header, *rows = table_rows(admin, 0)
            assert header == ["Reader", "Setting", "Cases read", "AUC", "AUC 95% CI", "Sensitivity", "Specificity",
                              "Cohen's κ"]
            expected = []
            for reader, pass_number in [("ann", 1), ("ann", 2), ("bob", 1), ("bob", 2)]:
                scores = np.array(PLAN[(reader, pass_number)])
                d = (scores >= 6).astype(int)
                p_o = (d == y).mean()
                p_e = d.mean() * y.mean() + (1 - d.mean()) * (1 - y.mean())
                expected.append([reader, "without the model" if pass_number == 1 else "with the model", "6 of 6",
                                 f"{roc_auc_score(y, scores):.3f}", f"{d[y == 1].mean():.3f}",
                                 f"{1 - d[y == 0].mean():.3f}", f"{(p_o - p_e) / (1 - p_e):.3f}"])
            d = (np.array(p_model) >= threshold).astype(int)
            model_row = ["Model alone", f"P ≥ {threshold:.2f}", "6 of 6", f"{roc_auc_score(y, p_model):.3f}",
                         f"{d[y == 1].mean():.3f}", f"{1 - d[y == 0].mean():.3f}"]
            assert [row[:4] + row[5:] for row in rows[:4]] == expected
            assert rows[4][:4] + rows[4][5:7] == model_row

            header, *rows = table_rows(admin, 1)
            for row, reader in zip(rows, ["ann", "bob"]):
                a, b = PLAN[(reader, 1)], PLAN[(reader, 2)]
                p = brute_force_paired_delong(y, a, b)
                assert row[0] == reader and row[2] == f"{roc_auc_score(y, a):.3f}" and row[3] == f"{roc_auc_score(y, b):.3f}"
                assert row[-2] == ("< 0.001" if p < 0.001 else f"{p:.3f}")  # DeLong's p, beside its z
                exact = brute_force_permutation(y, a, b)  # 6 cases: the exact paired permutation test
                assert row[-1] == f"{'< 0.001' if exact < 0.001 else format(exact, '.4g')} (exact, 64 relabellings)"

            metrics = [m.inner_text() for m in admin.get_by_test_id("stMetricValue").all()]
            for pass_number, shown in zip((1, 2), metrics):
                ann_p = np.array(PLAN[("ann", pass_number)]) >= 6
                bob_p = np.array(PLAN[("bob", pass_number)]) >= 6
                share = (ann_p.sum() + bob_p.sum()) / 12
                p_e = share**2 + (1 - share) ** 2
                assert shown == f"{((ann_p == bob_p).mean() - p_e) / (1 - p_e):.3f}"

            with admin.expect_download() as download_info:
                admin.get_by_role("button", name="Download every reading (CSV)").click()
            exported = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text())))
            with database.session() as s:
                stored = list(s.scalars(select(Reading)))
            assert len(exported) == len(stored) == 24
            for row in exported:
                position = int(row["case"]) - 1
                assert int(row["score"]) == PLAN[(row["reader"], int(row["pass"]))][position]
                assert row["truth"] == TRUTHS[position]
        except Exception:
            for number, context in enumerate(browser.contexts):
                for page in context.pages:
                    shoot(page, f"reader-failure-{number}")
            raise
        finally:
            browser.close()
