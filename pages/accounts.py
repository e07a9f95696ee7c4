"""Accounts (admins): clinician accounts locked after failed sign-ins, with an Unlock button each, and a
password reset for any account (which also unlocks it); both audited."""
import streamlit as st

from clinic.units import read, write
from db.users import MIN_PASSWORD_LENGTH, list_clinicians, locked_accounts, reset_password, unlock_user
from i18n import _
from pages import _auth as auth
from pages import _resources as res
from security.text import plain

admin = auth.require_clinician()
st.title(_("Accounts"))
if not admin.is_admin:
    st.warning(_("Only administrators manage accounts."), icon=":material/lock:")
    st.stop()
notice = st.session_state.pop("ac_notice", None)
if notice:
    st.success(notice, icon=":material/lock_open:")
st.caption(_("An account is locked for 15 minutes after 5 failed sign-ins in a row; a network address with 10 "
             "failed sign-ins in 15 minutes is refused for a while. Unlock an account once you know its owner "
             "is the one signing in. New accounts: `python -m db create-user NAME` on the server."))
with res.friendly_errors(operator=True):
    locked = write(res.get_database(), locked_accounts)
if not locked:
    st.info(_("No account is locked."), icon=":material/lock_open:")
for account in locked:
    name, until, action = st.columns([2, 3, 1], vertical_alignment="center")
    name.markdown(f"**{plain(account.username)}**")
    until.caption(_("locked until {time}").format(time=f"{account.locked_until:%Y-%m-%d %H:%M} UTC"))
    if action.button(_("Unlock"), key=f"ac_unlock_{account.username}", icon=":material/lock_open:"):
        with res.friendly_errors(operator=True):
            write(res.get_database(), unlock_user, account.username, actor=admin)
        st.session_state["ac_notice"] = _("Unlocked {name}.").format(name=plain(account.username))
        st.rerun()

st.subheader(_("Reset a password"))
st.caption(_("Give the new password to its owner in person or by phone. At least {count} characters; the account "
             "is unlocked too. On the server: `python -m db reset-password NAME`.").format(count=MIN_PASSWORD_LENGTH))
with res.friendly_errors(operator=True):
    usernames = [c.username for c in read(res.get_database(), list_clinicians)]
with st.form("ac_reset", clear_on_submit=True):
    who = st.selectbox(_("Account"), usernames, index=None, key="ac_reset_user", placeholder=_("Choose an option"))
    first = st.text_input(_("New password"), type="password", key="ac_reset_password", autocomplete="new-password")
    again = st.text_input(_("Repeat the new password"), type="password", key="ac_reset_again",
                          autocomplete="new-password")
    reset = st.form_submit_button(_("Set the new password"), icon=":material/password:")
if reset:
    if who is None or not first:
        st.error(_("Choose the account and type the new password."))
    elif first != again:
        st.error(_("The two passwords differ; type them again."))
    else:
        with res.friendly_errors(operator=True):
            write(res.get_database(), reset_password, who, first, actor=admin)
        st.session_state["ac_notice"] = _("New password set for {name}; the account is unlocked.").format(
            name=plain(who))
        st.rerun()
