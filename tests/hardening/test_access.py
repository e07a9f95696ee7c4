"""Who may see what: clinician pages behind sign-in, lock-out, idle timeout, access codes, hashed
passwords, no secrets in the repository, and an audit trail that records every read and change."""
from __future__ import annotations

import ast
import collections
import math
import re
import subprocess
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from db import codes
from db.audit import list_events
from db.errors import SIGN_IN_FAILED
from db.consultations import claim, record_review
from db.models import Consultation, User, utcnow
from pages import _resources as res
from pages._nav import menu
from tests.app.conftest import APP, PASSWORD, assert_clean, seed_consultation, shown_access_code, sign_in, texts
from tests.conftest import REPO_ROOT

PUBLIC_PAGES = {"pages/home.py", "pages/new_consultation.py", "pages/my_consultation.py", "pages/model.py"}
# Every page the menu can list (an administrator sees them all); app.py builds st.Page objects from this.
NAVIGATION = [entry.path for section in menu(SimpleNamespace(is_admin=True)).values() for entry in section]
CLINICIAN_PAGES = [page for page in NAVIGATION if page not in PUBLIC_PAGES]
ADMIN_PAGES = [page for page in CLINICIAN_PAGES if "require_admin()" in (REPO_ROOT / page).read_text()]
GATES = ("require_clinician", "require_admin")
SECRET_HISTORY = "Private history - neighbour Wilhelmina Q."  # no quotes: protobuf text escapes them


def rendered(node) -> str:
    """Everything a page sent to the browser, as text (every element's protobuf, recursively; quotes and
    non-ASCII characters come out escaped)."""
    parts = [str(node.proto)] if getattr(node, "proto", None) is not None else []
    parts += [rendered(child) for child in getattr(node, "children", {}).values()]
    return "\n".join(parts)


def new_session() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=60).run()


class Clock:
    """A monotonic clock the test moves by hand (only ``pages._auth`` sees it)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


# --- every clinician page and action needs sign-in ------------------------------------------------------------
def test_navigation_lists_clinician_pages() -> None:
    assert {"pages/queue.py", "pages/review.py"} <= set(CLINICIAN_PAGES)


@pytest.mark.parametrize("page", CLINICIAN_PAGES)
def test_clinician_page_without_sign_in_shows_only_the_form(page: str, at, clinician, database) -> None:
    public_id, code = seed_consultation(database, free_text=SECRET_HISTORY)
    at.session_state["review_public_id"] = public_id  # as if a stale or forged session pointed at a case
    at.switch_page(page).run()
    assert_clean(at)
    assert texts(at.subheader) == ["Clinician sign-in"]
    assert not at.dataframe and not at.title and not at.get("table") and not at.image
    page_text = rendered(at._tree)
    for secret in (public_id, SECRET_HISTORY, code):
        assert secret not in page_text
    with database.session() as session:
        assert not list_events(session, action="consultation.view")


def test_every_non_public_page_file_signs_in_first() -> None:
    """Pages added later (e.g. the reader study's) must call ``auth.require_clinician()`` (or
    ``_study.require_admin()``, which calls it) before any top-level statement touches the database, the
    model or the session's state."""
    for path in sorted((REPO_ROOT / "pages").glob("*.py")):
        relative = f"pages/{path.name}"
        if path.name.startswith("_") or relative in PUBLIC_PAGES:
            continue
        for statement in ast.parse(path.read_text()).body:
            code = ast.dump(statement)
            if any(gate in code for gate in GATES):
                break
            if isinstance(statement, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
                continue
            for reach in ("get_database", "get_predictor", "session_state", "begin", "session"):
                assert f"'{reach}'" not in code, f"{relative}:{statement.lineno} uses {reach} before sign-in"
        else:
            pytest.fail(f"{relative} never calls auth.require_clinician()")


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_refuse_a_dermatologist(page: str, at, clinician, database) -> None:
    seed_consultation(database, free_text=SECRET_HISTORY)
    sign_in(at)
    at.switch_page(page).run()
    assert_clean(at)
    assert any("Only administrators" in w for w in texts(at.warning))
    assert not at.dataframe and not at.get("table") and [b.key for b in at.button] == ["sign_out"]
    assert SECRET_HISTORY not in rendered(at._tree)


# --- lock-out -------------------------------------------------------------------------------------------------
def test_lockout_through_the_ui_spans_sessions_and_expires(app_env, clinician, database, monkeypatch) -> None:
    # Five failures from five different browser sessions: a new session does not reset the count.
    for _ in range(4):
        at = sign_in(new_session(), password="wrong password, new tab")
        assert texts(at.error) == [SIGN_IN_FAILED]
    at = sign_in(new_session(), password="wrong password, new tab")
    assert texts(at.error) == [SIGN_IN_FAILED]  # the same words: a lock must not reveal that the name exists
    at = sign_in(new_session())  # the right password is refused while locked
    assert texts(at.error) == [SIGN_IN_FAILED] and not at.dataframe and not at.title
    with database.session() as session:
        reasons = [e.detail["reason"] for e in list_events(session, action="user.login_failed")]
    assert reasons == ["bad_password"] * 4 + ["locked_now", "locked"]

    later = utcnow() + timedelta(minutes=16)
    monkeypatch.setattr("db.users.utcnow", lambda: later)
    at = sign_in(new_session())
    assert_clean(at)
    assert at.title[0].value == "Review queue"


def test_unknown_user_and_wrong_password_look_the_same(at, clinician, monkeypatch) -> None:
    """Same message, and the same argon2 work (the throttle per attempt), whether or not the user exists."""
    import db.users

    verified: list[str] = []
    original = db.users._verify

    def counting(password_hash: str, password: str) -> bool:
        verified.append(password_hash[:9])
        return original(password_hash, password)

    monkeypatch.setattr(db.users, "_verify", counting)
    first = texts(sign_in(at, username="nobody-here").error)
    second = texts(sign_in(at, password="not the password").error)
    assert first == second == [SIGN_IN_FAILED]
    assert verified == ["$argon2id", "$argon2id"]


# --- idle timeout ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("timeout_min", [None, 5])
def test_idle_session_times_out_and_forgets_patient_data(at, clinician, database, monkeypatch, timeout_min) -> None:
    if timeout_min is not None:
        monkeypatch.setenv("SCALPSCOPE_SESSION_TIMEOUT_MIN", str(timeout_min))
    limit = timeout_min or 30
    clock = Clock()
    monkeypatch.setattr("pages._auth.time", SimpleNamespace(monotonic=clock.monotonic))
    public_id, _ = seed_consultation(database, free_text=SECRET_HISTORY)
    sign_in(at)
    at.session_state["review_public_id"] = public_id
    at.switch_page("pages/review.py").run()
    assert at.title[0].value == f"Consultation {public_id}" and SECRET_HISTORY in texts(at.text)
    assert SECRET_HISTORY in rendered(at._tree)  # the check below can see it

    clock.advance(limit - 1)  # activity just inside the limit keeps the session alive ...
    at.run()
    assert at.title[0].value == f"Consultation {public_id}"
    clock.advance(limit - 1)  # ... and restarts the count
    at.run()
    assert at.title[0].value == f"Consultation {public_id}"

    clock.advance(limit + 1)
    at.run()
    assert_clean(at)
    assert texts(at.subheader) == ["Clinician sign-in"]
    assert any(f"signed out after {limit} minutes" in i for i in texts(at.info))
    assert SECRET_HISTORY not in rendered(at._tree)
    for key in ("auth_session", "review_public_id", "review_loaded"):
        assert key not in at.session_state


# --- patient access codes --------------------------------------------------------------------------------------
def test_access_codes_carry_at_least_128_random_bits() -> None:
    assert len(set(codes.ALPHABET)) == 32 and codes.CODE_BITS == codes.CODE_SYMBOLS * 5
    assert codes.CODE_SYMBOLS * math.log2(len(codes.ALPHABET)) >= 128
    assert codes.secrets.__name__ == "secrets"  # the CSPRNG, not random
    sample = [codes.new_access_code() for _ in range(4000)]
    assert len(set(sample)) == len(sample)
    symbols = collections.Counter("".join(sample).replace("-", ""))
    expected = len(sample) * codes.CODE_SYMBOLS / 32
    assert set(symbols) == set(codes.ALPHABET)
    assert all(abs(n - expected) < 0.1 * expected for n in symbols.values()), symbols


def look_up(at, code: str) -> AppTest:
    at.switch_page("pages/my_consultation.py").run()
    at.text_input(key="my_code").input(code)
    return at.button(key="FormSubmitter:lookup-Show my consultation").click().run()


def test_a_code_reveals_only_its_own_consultation(at, clinician, database) -> None:
    (_, code_a), (_, code_b) = seed_consultation(database), seed_consultation(database)
    with database.begin() as session:
        for consultation, notes in zip(session.scalars(select(Consultation).order_by(Consultation.id)),
                                       ("Notes for patient A.", "Notes for patient B.")):
            claim(session, consultation.id, clinician)
            record_review(session, consultation.id, clinician, "psoriasis", notes)
    look_up(at, code_a)
    assert_clean(at)
    page = rendered(at._tree)
    assert "Notes for patient A." in page and "Notes for patient B." not in page
    assert "dr.who" not in page  # the patient does not learn who reviewed
    look_up(at, code_a.lower().replace("0", "o").replace("-", " "))  # forgiving typing, same consultation
    assert "Notes for patient A." in rendered(at._tree)

    symbols = code_a.replace("-", "")
    for position in (0, 13, 27):  # one symbol off anywhere reveals nothing
        other = codes.ALPHABET[(codes.ALPHABET.index(symbols[position]) + 1) % 32]
        near = symbols[:position] + other + symbols[position + 1:]
        look_up(at, near)
        assert texts(at.error) == ["No consultation matches this access code. Check the code and try again."]
        assert "Notes for patient" not in rendered(at._tree)
    assert code_b  # B's code is never used above


def test_codes_and_passwords_are_never_stored_in_plain(at, clinician, database, app_env: Path) -> None:
    _, code = seed_consultation(database)
    look_up(at, code)
    wrong = "Wrong-Password-Typed-By-Mistake-42"
    sign_in(at, password=wrong)
    sign_in(at, username=PASSWORD, password=wrong)  # a password typed into the username box
    sign_in(at)
    assert at.title[0].value == "Review queue"
    with database.session() as session:
        assert session.scalar(select(User.password_hash)).startswith("$argon2id$")
    raw = b"".join(p.read_bytes() for p in app_env.glob("app.db*"))
    for plain in (PASSWORD, wrong, code, code.replace("-", "")):
        assert plain.encode() not in raw, plain


# --- no secrets in the repository ------------------------------------------------------------------------------
SECRET_FILES = re.compile(r"(^|/)(\.env(\..*)?|secrets\.toml|.*\.(pem|key|p12|pfx|keystore)|id_(rsa|ed25519|ecdsa)"
                          r"|\.pgpass|\.netrc)$")
SECRET_TEXT = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),  # GitHub token
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),  # Slack token
    re.compile(r"\bsk-[A-Za-z0-9]{32,}"),  # API secret keys
]
PASSWORD_LITERAL = re.compile(r"""(password|passwd|pwd|secret)\w*["']?\s*[:=]\s*["']([^"'\s{}$]{4,})["']""", re.I)
URL_CREDENTIALS = re.compile(r"://[^/\s:@\"']+:([^@\s\"'/]+)@")
PLACEHOLDERS = {"pw", "password", "pass", "secret", "xxx", "***", "changeme"}


def repository_files() -> list[str]:
    """Tracked files and the untracked ones ``git add -A`` would pick up."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO_ROOT,
                         capture_output=True, check=True, timeout=60).stdout.decode()
    return sorted({f for f in out.split("\0") if f and (REPO_ROOT / f).is_file()})


def test_no_secret_in_the_repository() -> None:
    files = repository_files()
    assert "app.py" in files
    problems = [f"{f}: secret-looking file" for f in files if SECRET_FILES.search(f)]
    for name in files:
        path = REPO_ROOT / name
        if path.stat().st_size > 2_000_000:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary (checkpoints, images)
        content = data.decode("utf-8", "replace")
        problems += [f"{name}: {p.pattern}" for p in SECRET_TEXT if p.search(content)]
        for match in URL_CREDENTIALS.finditer(content):
            if match.group(1).lower() not in PLACEHOLDERS:
                problems.append(f"{name}: credentials in a URL")
        if not name.startswith("tests/"):  # tests use throw-away passwords against temporary databases
            for match in PASSWORD_LITERAL.finditer(content):
                value = match.group(2)
                if value not in {res.DEMO_PASSWORD, *PLACEHOLDERS} and not value.startswith("!"):  # "!": unusable
                    problems.append(f"{name}: literal {match.group(0)[:40]!r}")
    assert not problems, problems
    assert ".streamlit/secrets.toml" in (REPO_ROOT / ".gitignore").read_text()


# --- the audit trail --------------------------------------------------------------------------------------------
def test_audit_trail_records_every_read_and_change(at, clinician, database, fake_predictor, tmp_path,
                                                   monkeypatch) -> None:
    from db.__main__ import main as db_cli
    from tests.app.test_clinician import fill_review, open_review
    from tests.factories import image_bytes

    free_text, notes = "Started after a holiday.", "Psoriasis; use the shampoo."
    at.switch_page("pages/new_consultation.py").run()  # 1. a patient submits
    at.checkbox(key="nc_consent").check()
    at.text_area(key="nc_text").input(free_text)
    at.file_uploader(key="nc_files").set_value([("scalp.jpg", image_bytes("JPEG"), "image/jpeg")])
    at.run()
    at.button(key="nc_submit").click().run()
    code = shown_access_code(at)
    look_up(new_session(), code)  # 2. and looks the code up in another tab
    with database.session() as session:
        public_id = session.scalar(select(Consultation.public_id))

    doctor = sign_in(new_session())  # 3. a clinician signs in and sees the queue (4.)
    open_review(doctor, public_id).run()  # 5. opens the consultation
    fill_review(doctor, public_id, "psoriasis", notes, "yes")
    doctor.button(key=f"FormSubmitter:review_{public_id}-Save").click().run()  # 6. claims and reviews it
    assert_clean(doctor)
    look_up(new_session(), code)  # 7. the patient reads the conclusion
    monkeypatch.setattr("sys.argv", ["db"])
    assert db_cli(["export-training", str(tmp_path / "export")]) == 0  # 8. an operator exports

    with database.session() as session:
        consultation_id = session.scalar(select(Consultation.id))
        events = [(e.actor, e.action, e.consultation_id, e.detail) for e in list_events(session, limit=1000)]
    doctor_ = "clinician:dr.who"
    trail = [(actor, action, cid) for actor, action, cid, _ in events]
    collapsed = [e for i, e in enumerate(trail) if i == 0 or not (e[1] == "queue.view" and trail[i - 1] == e)]
    assert collapsed == [
        ("system", "user.create", None),
        ("patient", "consultation.submit", consultation_id),
        ("patient", "patient.lookup", consultation_id),
        (doctor_, "user.login", None),
        (doctor_, "queue.view", None),
        (doctor_, "figures.view", None),  # the queue's figures section, once per period
        (doctor_, "consultation.view", consultation_id),
        (doctor_, "consultation.claim", consultation_id),
        (doctor_, "consultation.review", consultation_id),
        (doctor_, "consultation.view", consultation_id),  # the page reloads what it just saved
        ("patient", "patient.lookup", consultation_id),
        ("system", "export.training", None),
    ]
    details = repr([detail for *_, detail in events])
    for private in (code, code.replace("-", ""), free_text, notes, PASSWORD):
        assert private not in details
