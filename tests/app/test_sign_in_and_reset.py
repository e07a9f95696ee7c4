"""Issue 18, item 6: the user name survives a failed sign-in, and an administrator resets a password (which
also unlocks the account) in the app and on the command line, audited."""
from __future__ import annotations

import io

import pytest

from db.__main__ import main
from db.audit import list_events
from db.errors import ValidationError
from db.users import authenticate, create_user, locked_accounts, reset_password
from tests.app.conftest import PASSWORD, assert_clean, sign_in, texts

NEW_PASSWORD = "a brand new password 42"


def test_a_failed_sign_in_keeps_the_user_name_and_empties_the_password(at, clinician) -> None:
    sign_in(at, password="wrong password!")
    assert len(at.error) == 1
    assert at.text_input(key="sign_in_username").value == "dr.who"  # was cleared with the password
    assert at.text_input(key="sign_in_password").value == ""
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button(key="FormSubmitter:sign_in-Sign in").click().run()
    assert_clean(at)
    assert not at.error and "Clinician sign-in" not in texts(at.subheader)


def test_an_admin_resets_a_locked_account_in_the_app(at, clinician, database) -> None:
    with database.begin() as s:
        create_user(s, "boss", PASSWORD, "admin")
    for _ in range(5):
        sign_in(at, password="wrong password!")
    with database.session() as s:
        assert [a.username for a in locked_accounts(s)] == ["dr.who"]
    sign_in(at, "boss")
    at.switch_page("pages/accounts.py").run()
    assert_clean(at)
    at.selectbox(key="ac_reset_user").select("dr.who")
    at.text_input(key="ac_reset_password").input(NEW_PASSWORD)
    at.text_input(key="ac_reset_again").input(NEW_PASSWORD + "!")
    at.button(key="FormSubmitter:ac_reset-Set the new password").click().run()
    assert texts(at.error) == ["The two passwords differ; type them again."]
    at.selectbox(key="ac_reset_user").select("dr.who")
    at.text_input(key="ac_reset_password").input(NEW_PASSWORD)
    at.text_input(key="ac_reset_again").input(NEW_PASSWORD)
    at.button(key="FormSubmitter:ac_reset-Set the new password").click().run()
    assert_clean(at)
    assert texts(at.success) == ["New password set for dr.who; the account is unlocked."]
    with database.begin() as s:
        assert locked_accounts(s) == []
        assert authenticate(s, "dr.who", NEW_PASSWORD).username == "dr.who"
        events = list_events(s, action="user.password_reset")
        assert [(e.actor, e.detail) for e in events] == [("clinician:boss", {"username": "dr.who"})]
        assert NEW_PASSWORD not in str([e.detail for e in list_events(s, limit=1000)])


def test_only_admins_reset_and_the_command_line_does_too(clinician, database, monkeypatch, capsys) -> None:
    with pytest.raises(ValidationError, match="Only an administrator"), database.begin() as s:
        reset_password(s, "dr.who", NEW_PASSWORD, actor=clinician)
    with pytest.raises(ValidationError, match="at least"), database.begin() as s:
        reset_password(s, "dr.who", "short")
    monkeypatch.setattr("sys.stdin", io.StringIO(NEW_PASSWORD + "\n"))
    url = database.engine.url.render_as_string(hide_password=False)
    assert main(["--database-url", url, "reset-password", "dr.who", "--password-stdin"]) == 0
    assert "New password set for 'dr.who'" in capsys.readouterr().out
    with database.begin() as s:
        assert authenticate(s, "dr.who", NEW_PASSWORD).username == "dr.who"
        assert [e.actor for e in list_events(s, action="user.password_reset")] == ["system"]
