"""Accounts (admins): clinician accounts locked after failed sign-ins, with an Unlock button each."""
import streamlit as st

from db.users import locked_accounts, unlock_user
from pages import _auth as auth
from pages import _resources as res
from security.text import plain

admin = auth.require_clinician()
st.title("Accounts")
if not admin.is_admin:
    st.warning("Only administrators manage accounts.", icon=":material/lock:")
    st.stop()
notice = st.session_state.pop("ac_notice", None)
if notice:
    st.success(notice, icon=":material/lock_open:")
st.caption("An account is locked for 15 minutes after 5 failed sign-ins in a row; a network address with 10 "
           "failed sign-ins in 15 minutes is refused for a while. Unlock an account once you know its owner "
           "is the one signing in. New accounts: `python -m db create-user NAME` on the server.")
with res.friendly_errors(operator=True), res.get_database().begin() as session:
    locked = locked_accounts(session)
if not locked:
    st.info("No account is locked.", icon=":material/lock_open:")
    st.stop()
for account in locked:
    name, until, action = st.columns([2, 3, 1], vertical_alignment="center")
    name.markdown(f"**{plain(account.username)}**")
    until.caption(f"locked until {account.locked_until:%Y-%m-%d %H:%M} UTC")
    if action.button("Unlock", key=f"ac_unlock_{account.username}", icon=":material/lock_open:"):
        with res.friendly_errors(operator=True), res.get_database().begin() as session:
            unlock_user(session, account.username, actor=admin)
        st.session_state["ac_notice"] = f"Unlocked {plain(account.username)}."
        st.rerun()
