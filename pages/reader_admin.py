"""Study set-up (admins): create a reader study from labelled images and invite readers; list studies."""
import pandas as pd
import streamlit as st

from clinic import study as studies_app
from clinic.units import read, write
from db.models import StudySource
from db.reader_study import (
    MAX_CASES,
    count_labelled_consultations,
    invite_readers,
    list_studies,
)
from db.users import list_clinicians
from i18n import N_, _
from pages import _resources as res
from pages import _study as study
from pages import _views as views
from scalp_model import settings as model_settings
from security.folders import FolderRefused
from security.text import plain

SOURCES = {StudySource.CONSULTATIONS: N_("Reviewed consultations"),
           StudySource.FOLDER: N_("Image folder on the server")}

admin = study.require_admin()
if st.session_state.pop("ra_reset", False):  # a fresh form after a study was created
    st.session_state.update(ra_name="", ra_readers=[], ra_seed=None)
st.title(_("Study set-up"))
st.caption(_("A reader study after Yu et al. 2022: each reader reads every case twice, first without and then "
             "with the model, each pass in its own random order. The model runs once per case, now."))
notice = st.session_state.pop("ra_notice", None)
if notice:
    st.success(notice, icon=":material/check_circle:")
for problem in st.session_state.pop("ra_skipped", []):
    st.warning(_("Skipped {problem}").format(problem=plain(problem)), icon=":material/image_not_supported:")
with res.friendly_errors(operator=True):
    # Demo accounts (seed-demo's reviewers cannot even sign in) are offered only in demo mode.
    accounts = {c.id: c for c in read(res.get_database(), list_clinicians) if res.demo_mode() or not c.is_demo}
    studies = read(res.get_database(), list_studies, admin)

st.subheader(_("New study"))
name = st.text_input(_("Name"), key="ra_name", max_chars=120, placeholder=_("e.g. Scalp readers 2026-11"))
source = st.radio(_("Cases from"), list(SOURCES), format_func={k: _(v) for k, v in SOURCES.items()}.get,
                  horizontal=True, key="ra_source")
if source == StudySource.CONSULTATIONS:
    columns = st.columns(2, vertical_alignment="bottom")
    include_demo = columns[0].toggle(_("Include demo consultations"), key="ra_demo")
    limit = columns[1].number_input(_("Cases (0 = all)"), min_value=0, max_value=MAX_CASES, value=0, step=10,
                                    key="ra_limit", help=_("A random sample of this many consultations."))
    with res.friendly_errors(operator=True):
        counts = read(res.get_database(), count_labelled_consultations, include_demo=include_demo)
    st.caption(_("Reviewed consultations with a dermatologist's diagnosis: {psoriasis} psoriasis, {sebderm} "
                 "seborrheic dermatitis (one case each: the first photo).").format(
        psoriasis=counts["psoriasis"], sebderm=counts["seborrheic_dermatitis"]))
    folder = ""
else:
    folder = st.text_input(_("Folder"), key="ra_folder", placeholder="pilot-2026",
                           help=_("A folder inside {root} holding psoriasis/ and seborrheic_dermatitis/ with the "
                                  "images; the folder is the truth.").format(root=plain(res.study_root())))
readers = st.multiselect(_("Readers"), list(accounts), key="ra_readers",
                         format_func=views.words_for(accounts, lambda i: f"{accounts[i].username} "
                                                                               f"({views.role(accounts[i].role)})"))
columns = st.columns(2)
washout = columns[0].number_input(_("Wash-out (days)"), min_value=0.0, max_value=365.0, value=0.0, step=1.0,
                                  key="ra_washout", help=_("Pass 2 opens this long after a reader completes pass 1."))
seed = columns[1].number_input(_("Seed (blank = random)"), min_value=0, max_value=2**31 - 1, value=None, step=1,
                               key="ra_seed", help=_("Fixes every reader's case orders."))


def create_from_form() -> None:
    """Create the study the form describes. On a refused folder or any other error the reason is shown and
    the page goes on (the list of studies below stays); the progress bar never outlives the attempt."""
    if not name.strip() or not readers or (source == StudySource.FOLDER and not folder.strip()):
        st.error(_("Give a name, choose at least one reader and the folder.") if source == StudySource.FOLDER
                 else _("Give a name and choose at least one reader."))
        return
    if name.strip() in {s.name for s in studies}:
        st.error(_("A study called '{name}' exists already; choose another name.").format(name=plain(name)))
        return
    slot = st.empty()  # the progress bar goes away whatever happens, and the list of studies stays below
    bar = slot.progress(0.0, text=_("Collecting the images…"))
    read_problems: list[str] = []
    real_folder = None
    created = None
    with res.friendly_errors(operator=True, stop=False):
        if source == StudySource.FOLDER:
            try:
                real_folder, items, read_problems = studies_app.folder_candidates(
                    res.get_database(), admin, folder, res.study_root(),
                    int(float(model_settings.MAX_UPLOAD_MB.get()) * 2**20))
            except FolderRefused as exc:
                slot.empty()
                st.error(plain(exc))
                return
        else:
            items = studies_app.consultation_candidates(res.get_database(), include_demo=include_demo,
                                                        limit=limit or None, seed=None if seed is None else int(seed))
        predictor = res.get_predictor()
        reading_words = _("The model reads case {done} of {total}…")
        cases, problems = studies_app.build_study_cases(
            items, predictor, lambda done, total: bar.progress(done / max(total, 1),
                                                               text=reading_words.format(done=done, total=total)))
        problems = read_problems + problems
        created = studies_app.create_study(res.get_database(), admin, name, cases, readers, source=source,
                                           predictor=predictor, seed=None if seed is None else int(seed),
                                           washout_days=float(washout), folder=real_folder)
    slot.empty()
    if created is None:  # the error is on screen (friendly_errors)
        return
    st.session_state["ra_notice"] = (
        _("Study '{name}' created: {cases} cases, {readers} readers, {skipped} unreadable images skipped.")
        if problems else _("Study '{name}' created: {cases} cases, {readers} readers.")).format(
            name=plain(created.name), cases=len(cases), readers=len(readers), skipped=len(problems))
    st.session_state["ra_skipped"] = problems
    st.session_state["ra_reset"] = True
    st.rerun()


if st.button(_("Create study"), type="primary", key="ra_create", icon=":material/add:"):
    create_from_form()

st.subheader(_("Studies"))
if not studies:
    st.caption(_("No reader study yet."))
    st.stop()
st.dataframe(pd.DataFrame([{
    _("Study"): s.name, _("Created"): f"{s.created_at:%Y-%m-%d %H:%M}", _("By"): s.created_by,
    _("Cases from"): _(SOURCES[s.source]), _("Cases"): s.cases, _("Readers"): ", ".join(s.readers),
    _("Readings"): _("{done} of {total}").format(done=s.readings, total=2 * s.cases * len(s.readers)),
    _("Finished readers"): s.finished_readers, _("Model"): s.model_version,
} for s in studies]), hide_index=True, width="stretch")
by_id = {s.id: s for s in studies}
columns = st.columns([2, 3, 1], vertical_alignment="bottom")
target = columns[0].selectbox(_("Study"), list(by_id), format_func=lambda i: by_id[i].name, key="ra_invite_study")
more = columns[1].multiselect(_("Invite more readers"), [i for i in accounts if accounts[i].username
                                                      not in by_id[target].readers],
                              format_func=lambda i: accounts[i].username, key="ra_invite_readers")
if columns[2].button(_("Invite"), key="ra_invite", disabled=not more, width="stretch"):
    with res.friendly_errors(operator=True):
        added = write(res.get_database(), invite_readers, admin, target, more)
    st.session_state["ra_notice"] = (
        _("Invited {names} to '{study}'.").format(names=plain(", ".join(added)), study=plain(by_id[target].name))
        if added else _("Invited nobody new to '{study}'.").format(study=plain(by_id[target].name)))
    st.rerun()
st.page_link("pages/reader_results.py", label=_("See the results"), icon=":material/monitoring:")
