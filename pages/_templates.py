"""The review's management-note templates (issue 19, item 3): a picker that inserts a template into the notes for
the patient (still editable before saving) and a small editor to create, change and delete templates. Widgets
only; the rules, checks and audit rows are in ``clinic.templates``."""
from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from clinic.templates import (
    MAX_TEMPLATE_BODY, MAX_TEMPLATE_TITLE, Template, create_template, delete_template, edit_template,
    insert_template, list_templates,
)
from db.users import Clinician
from i18n import _
from pages import _resources as res
from pages import _views as views
from security.text import plain

NEW = 0  # the editor's "new template" choice (template ids start at 1)


def available(clinician: Clinician) -> list[Template]:
    """The templates this clinician may use (their own and the shared ones), read once per run."""
    with res.friendly_errors(operator=True):
        return list_templates(res.get_database(), clinician)


def _label(template: Template, clinician: Clinician) -> str:
    if not template.shared:
        return template.title
    return template.title + " · " + (_("shared") if template.owner == clinician.username else
                                     _("shared by {owner}").format(owner=template.owner))


def picker(container: DeltaGenerator, clinician: Clinician, found: list[Template], notes_key: str) -> None:
    """Above the review form: choose a template and insert it into the notes widget ``notes_key`` (after what
    was already saved into it, see ``clinic.templates.insert_template``). Must run before that widget."""
    if not found:
        container.caption(_("No note templates yet: write one under *Note templates* below."))
        return
    by_id = {t.id: t for t in found}
    row = container.columns([2, 1], vertical_alignment="bottom")
    chosen = row[0].selectbox(_("Note template"), list(by_id), index=None, key=f"{notes_key}_template",
                              format_func=views.words_for(by_id, lambda i: _label(by_id[i], clinician)),
                              placeholder=_("Choose a template"),
                              help=_("Inserted into the notes for the patient below; you can still edit them. "
                                     "Choose the template before writing: text typed but not yet saved is replaced."))
    if row[1].button(_("Insert"), key=f"{notes_key}_insert", disabled=chosen is None, width="stretch"):
        with container, res.friendly_errors(operator=True, stop=False):  # the message beside the picker
            st.session_state[notes_key] = insert_template(st.session_state.get(notes_key), by_id[chosen])


def editor(container: DeltaGenerator, clinician: Clinician, found: list[Template]) -> None:
    """A collapsed "Note templates" expander: create a template, or change or delete one this clinician may
    change (their own; a shared one of another clinician only as an admin)."""
    editable = {t.id: t for t in found if t.editable}
    notice = st.session_state.pop("tpl_notice", None)
    if "tpl_next_pick" in st.session_state:  # after a save or delete: the template to show (set before the widget)
        st.session_state["tpl_pick"] = st.session_state.pop("tpl_next_pick")
    if st.session_state.get("tpl_pick", NEW) not in (NEW, *editable):  # deleted meanwhile, e.g. in another tab
        st.session_state["tpl_pick"] = NEW
    with container.expander(_("Note templates"), icon=":material/edit_note:", expanded=notice is not None):
        if notice:
            st.success(notice, icon=":material/check_circle:")
        pick = st.selectbox(_("Template"), [NEW, *editable], key="tpl_pick", format_func=views.words_for(
            [NEW, *editable], lambda i: _("New template") if i == NEW else _label(editable[i], clinician)))
        if st.session_state.get("tpl_loaded") != pick or "tpl_title" not in st.session_state:
            chosen = editable.get(pick)
            st.session_state["tpl_title"] = chosen.title if chosen else ""
            st.session_state["tpl_body"] = chosen.body if chosen else ""
            st.session_state["tpl_shared"] = chosen.shared if chosen else False
            st.session_state["tpl_confirm"] = False
            st.session_state["tpl_loaded"] = pick
        with st.form("note_templates"):
            title = st.text_input(_("Title"), key="tpl_title", max_chars=MAX_TEMPLATE_TITLE)
            body = st.text_area(_("Text for the patient"), key="tpl_body", max_chars=MAX_TEMPLATE_BODY)
            shared = st.checkbox(_("Shared with the clinic"), key="tpl_shared",
                                 help=_("Every clinician can use a shared template; only you or an administrator "
                                        "can change it."))
            confirm = st.checkbox(_("Yes, delete this template"), key="tpl_confirm") if pick != NEW else False
            buttons = st.columns(2)
            save = buttons[0].form_submit_button(_("Create template") if pick == NEW else _("Save changes"),
                                                 type="primary", width="stretch")
            delete = buttons[1].form_submit_button(_("Delete template"), width="stretch") if pick != NEW else False
    if save:
        with container, res.friendly_errors(operator=True):  # a refusal shows below the editor
            saved = (create_template(res.get_database(), clinician, title, body, shared=shared) if pick == NEW else
                     edit_template(res.get_database(), clinician, pick, title, body, shared=shared))
        st.session_state.update(tpl_next_pick=saved.id, tpl_loaded=None,
                                tpl_notice=_("Template \u201c{title}\u201d saved.").format(title=plain(saved.title)))
        st.rerun()
    if delete:
        if not confirm:
            container.error(_("Tick \u201cYes, delete this template\u201d to delete it."))
            return
        with container, res.friendly_errors(operator=True):
            delete_template(res.get_database(), clinician, pick)
        st.session_state.update(tpl_next_pick=NEW, tpl_loaded=None,
                                tpl_notice=_("Template \u201c{title}\u201d deleted.").format(
                                    title=plain(editable[pick].title)))
        st.rerun()
