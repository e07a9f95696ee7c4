"""Kind 9: one client cannot lock out every account. A client address with too many failed sign-ins is
refused before any password is checked (so it can lock at most two accounts per window); the per-account
lock-out stays; an administrator can unlock an account (Accounts page, ``python -m db unlock-user``)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from db import audit
from db.__main__ import main
from db.audit import Origin, list_events
from db.errors import AccountLockedError, ClientThrottledError, InvalidCredentialsError, ValidationError
from db.users import MAX_CLIENT_FAILURES, authenticate, create_user, locked_accounts, unlock_user
from pages import _browser
from tests.app.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    _fast_password_hashing,
    _navigation_mode,
    app_env,
    assert_clean,
    at,
    database,
    sign_in,
    texts,
)

ATTACKER, COLLEAGUE = "203.0.113.66", "198.51.100.20"
NAMES = [f"user{i}" for i in range(8)]


@pytest.fixture
def accounts(database) -> None:
    with database.begin() as s:
        for name in NAMES:
            create_user(s, name, PASSWORD)
        create_user(s, "boss", PASSWORD, "admin")


def try_sign_in(database, username: str, password: str, client: str | None):
    try:
        with database.begin() as s:
            return authenticate(s, username, password, client=client)
    except (InvalidCredentialsError, AccountLockedError, ClientThrottledError) as exc:
        return exc


def test_one_client_cannot_lock_out_every_account(database, accounts) -> None:
    for name in NAMES:  # five wrong passwords on every account it knows, from one address
        for _ in range(5):
            try_sign_in(database, name, "wrong password!!", ATTACKER)
    with database.session() as s:
        locked = [a.username for a in locked_accounts(s)]
    assert len(locked) <= MAX_CLIENT_FAILURES // 5 == 2  # the rest were never even checked
    for name in NAMES:
        if name not in locked:
            assert not isinstance(try_sign_in(database, name, PASSWORD, COLLEAGUE), Exception), name
    assert isinstance(try_sign_in(database, NAMES[-1], PASSWORD, ATTACKER), ClientThrottledError)
    with database.session() as s:
        reasons = [e.detail["reason"] for e in list_events(s, action="user.login_failed", limit=1000)]
        clients = {e.detail.get("client") for e in list_events(s, action="user.login_failed", limit=1000)}
    assert "client_throttled" in reasons and clients == {ATTACKER}


def test_the_per_account_lock_out_still_holds(database, accounts) -> None:
    for client in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"):  # five addresses
        try_sign_in(database, "user0", "wrong password!!", client)
    assert isinstance(try_sign_in(database, "user0", PASSWORD, COLLEAGUE), AccountLockedError)


def test_an_admin_unlocks_an_account(database, accounts) -> None:
    for _ in range(5):
        try_sign_in(database, "user1", "wrong password!!", None)
    assert isinstance(try_sign_in(database, "user1", PASSWORD, None), AccountLockedError)
    with database.begin() as s:
        boss = authenticate(s, "boss", PASSWORD)
        dermatologist = authenticate(s, "user2", PASSWORD)
    with pytest.raises(ValidationError), database.begin() as s:
        unlock_user(s, "user1", actor=dermatologist)
    with database.begin() as s:
        assert unlock_user(s, "user1", actor=boss) is True
    assert not isinstance(try_sign_in(database, "user1", PASSWORD, None), Exception)
    with database.session() as s:
        assert [(e.actor, e.detail["username"]) for e in list_events(s, action="user.unlock")] == [
            ("clinician:boss", "user1")]


def test_the_operator_unlocks_from_the_command_line(database, accounts, capsys) -> None:
    for _ in range(5):
        try_sign_in(database, "user3", "wrong password!!", None)
    url = database.engine.url.render_as_string(hide_password=False)
    assert main(["--database-url", url, "unlock-user", "user3"]) == 0
    assert "Unlocked 'user3'" in capsys.readouterr().out
    assert not isinstance(try_sign_in(database, "user3", PASSWORD, None), Exception)
    assert main(["--database-url", url, "unlock-user", "nobody"]) == 1


@pytest.fixture
def from_attacker() -> Iterator[None]:
    audit.set_origin_provider(lambda: Origin(client=ATTACKER, session="0" * 16))
    yield
    audit.set_origin_provider(_browser.request_origin)


def test_the_sign_in_form_throttles_a_client_and_the_accounts_page_unlocks(at, database, accounts,
                                                                            from_attacker) -> None:
    for name in NAMES[:3]:
        for _ in range(5):
            sign_in(at, name, "wrong password!!")
    assert_clean(at)
    assert any("Too many failed sign-ins from this network address" in e for e in texts(at.error))
    audit.set_origin_provider(lambda: Origin(client=COLLEAGUE))
    sign_in(at, "boss")
    at.switch_page("pages/accounts.py").run()
    assert_clean(at)
    locked = [b.key for b in at.button if b.key and b.key.startswith("ac_unlock_")]
    assert locked == ["ac_unlock_user0", "ac_unlock_user1"]
    at.button(key="ac_unlock_user0").click().run()
    assert texts(at.success) == ["Unlocked user0."]
    with database.session() as s:
        assert [a.username for a in locked_accounts(s)] == ["user1"]
