"""``python -m db``: create-user, export-training, backup, migrate."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from db.__main__ import main
from db.audit import list_events
from db.consultations import claim, record_review, submit_consultation
from db.engine import Database
from db.users import authenticate
from tests.db.builders import HISTORY, TEST_PASSWORD, new_image, new_prediction


def url_of(database: Database) -> str:
    return database.engine.url.render_as_string(hide_password=False)


def reviewed(database: Database, clinician, diagnosis: str, images, *, source: str = "phone", is_demo: bool = False):  # type: ignore[no-untyped-def]
    with database.begin() as s:
        consultation, _ = submit_consultation(
            s, {**HISTORY, "image_source": source}, "v1", images, [new_prediction()] * len(images), is_demo=is_demo
        )
        if diagnosis:
            claim(s, consultation.id, clinician)
            record_review(s, consultation.id, clinician, diagnosis, specified="a condition for the test")
    return consultation


def test_create_user_from_stdin_and_prompt(database: Database, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("sys.stdin", io.StringIO(TEST_PASSWORD + "\n"))
    assert main(["--database-url", url_of(database), "create-user", "Erin", "--role", "admin", "--password-stdin"]) == 0
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "another long password")
    assert main(["--database-url", url_of(database), "create-user", "frank"]) == 0
    assert main(["--database-url", url_of(database), "create-user", "frank"]) == 1
    out, err = capsys.readouterr()
    assert "Created admin 'erin'" in out and "already exists" in err and TEST_PASSWORD not in out + err
    with database.begin() as s:
        assert authenticate(s, "erin", TEST_PASSWORD).role == "admin"
        assert authenticate(s, "frank", "another long password").role == "dermatologist"


def test_export_training_layout(database: Database, clinicians, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    alice = clinicians[0]
    pso = reviewed(database, alice, "psoriasis", [new_image("PNG"), new_image("JPEG")], source="dermoscope")
    seb = reviewed(database, alice, "seborrheic_dermatitis", [new_image("JPEG")])
    reviewed(database, alice, "other", [new_image()])
    reviewed(database, alice, "needs_in_person_visit", [new_image()])
    reviewed(database, alice, "", [new_image()])  # not reviewed yet
    reviewed(database, alice, "psoriasis", [new_image()], is_demo=True)
    out = tmp_path / "export"
    out.mkdir()
    (out / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")  # Finder's file does not make the folder "not empty"
    assert main(["--database-url", url_of(database), "export-training", str(out)]) == 0

    with (out / "groups.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["file", "label", "group", "source", "course"]  # course: follow-ups only (issue 19)
    assert {r["course"] for r in rows} == {""}
    assert [(r["file"], r["label"], r["group"], r["source"]) for r in rows] == [
        (f"psoriasis/{pso.public_id}_0.png", "psoriasis", pso.public_id, "dermoscope"),
        (f"psoriasis/{pso.public_id}_1.jpg", "psoriasis", pso.public_id, "dermoscope"),
        (f"seborrheic_dermatitis/{seb.public_id}_0.jpg", "seborrheic_dermatitis", seb.public_id, "phone"),
    ]
    assert sorted(p.name for p in out.iterdir()) == [".DS_Store", "groups.csv", "psoriasis", "seborrheic_dermatitis"]
    for row in rows:
        with Image.open(out / row["file"]) as image:
            assert image.size == (16, 12)
    assert main(["--database-url", url_of(database), "export-training", str(out)]) == 1  # not empty
    with database.session() as s:
        [event] = list_events(s, action="export.training")
    assert event.actor == "system" and event.detail["images"] == 3 and event.detail["consultations"] == 2


def test_backup(database: Database, clinicians, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    consultation = reviewed(database, clinicians[0], "psoriasis", [new_image()])
    target = tmp_path / "backup.db"
    code = main(["--database-url", url_of(database), "backup", str(target)])
    if database.dialect != "sqlite":
        assert code == 1 and "pg_dump" in capsys.readouterr().err and not target.exists()
        return
    assert code == 0
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert copy.execute("SELECT public_id, status FROM consultations").fetchall() == [
            (consultation.public_id, "reviewed")
        ]
        assert copy.execute("SELECT count(*) FROM users").fetchone() == (3,)
    copy.close()
    assert main(["--database-url", url_of(database), "backup", str(target)]) == 1  # never overwrites


def test_migrate_command(empty_database: Database, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["--database-url", url_of(empty_database), "migrate"]) == 0
    assert f"Schema at revision {empty_database.head_revision()}" in capsys.readouterr().out


def test_create_user_on_a_brand_new_database_creates_the_schema(
    empty_database: Database, monkeypatch: pytest.MonkeyPatch, capsys  # type: ignore[no-untyped-def]
) -> None:
    """The README's first step on a fresh machine: no "schema is out of date, run migrate" any more."""
    monkeypatch.setattr("sys.stdin", io.StringIO(TEST_PASSWORD + "\n"))
    assert main(["--database-url", url_of(empty_database), "create-user", "alice", "--password-stdin"]) == 0
    out, err = capsys.readouterr()
    assert "Created dermatologist 'alice'" in out
    assert f"New database: created the schema (revision {empty_database.head_revision()})" in err
    assert empty_database.current_revision() == empty_database.head_revision()
    with empty_database.begin() as s:
        assert authenticate(s, "alice", TEST_PASSWORD).username == "alice"


def test_an_older_schema_still_needs_an_explicit_migrate(empty_database: Database, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    empty_database.migrate("0001")
    monkeypatch.setattr("sys.stdin", io.StringIO(TEST_PASSWORD + "\n"))
    assert main(["--database-url", url_of(empty_database), "create-user", "alice", "--password-stdin"]) == 1
    assert "Run `python -m db migrate`" in capsys.readouterr().err
    assert empty_database.current_revision() == "0001"
