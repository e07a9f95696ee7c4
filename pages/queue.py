"""Queue: consultations in order of when they are due (db.triage), with a reason per row, filters, counts and turnaround.

Reads run in read transactions (no SQLite write lock); each listing shown is audited once per visit of the
page (pages._seen), in its own short write, not on every rerun.
"""
from datetime import timedelta

import altair as alt
import pandas as pd
import streamlit as st

from clinic import cases
from clinic.cases import QueueFilter
from db.consultations import progress_phrases
from db.models import Status, utcnow
from i18n import LANGUAGES, N_, _
from pages import _auth as auth
from pages import _figures as clinic_figures
from pages._progress import progress_words
from pages import _resources as res
from pages import _seen as seen
from pages import _views as views

PAGE_SIZE = 25
WAITS = {"any time": None, "1 hour": timedelta(hours=1), "4 hours": timedelta(hours=4),
         "1 day": timedelta(days=1), "3 days": timedelta(days=3)}
WAIT_WORDS = {"any time": N_("any time"), "1 hour": N_("1 hour"), "4 hours": N_("4 hours"), "1 day": N_("1 day"),
              "3 days": N_("3 days")}
TURNAROUND_WINDOWS = {"last 7 days": 7, "last 30 days": 30, "all time": None}
WINDOW_WORDS = {"last 7 days": N_("last 7 days"), "last 30 days": N_("last 30 days"), "all time": N_("all time")}
FINISHED = (Status.REVIEWED, Status.CLOSED)
COLUMN_WORDS = {"#": "#", "Why here": N_("Why here"), "Waiting (days)": N_("Waiting (days)"), "Status": N_("Status"),
                "Reviewed": N_("Reviewed"), "Max P(psoriasis)": N_("Max P(psoriasis)"), "Uncertain": N_("Uncertain"),
                "Out of scope": N_("Out of scope"), "Severe itch": N_("Severe itch"), "Claimed by": N_("Claimed by"),
                "Photos from": N_("Photos from"), "Language": N_("Language"), "Consultation": N_("Consultation")}
TRIAGE_HELP = N_("Cases are listed by when they are due: submission + a target turnaround of 72 h, 48 h when the "
               "model is uncertain, 24 h for a photo out of scope or severe itch.")


def first_page() -> None:
    st.session_state["queue_cursors"] = []


def open_review(public_id: str) -> None:
    st.session_state["review_public_id"] = public_id
    st.session_state.pop("review_loaded", None)  # each opening reads the case afresh (e.g. the patient answered)
    st.session_state["review_queue"] = queue_filter  # "Save and next" stays in this filtered queue
    st.switch_page("pages/review.py")


clinician = auth.require_clinician()
st.title(_("Review queue"))
now = utcnow()
with res.friendly_errors(operator=True):
    counts = cases.queue_counts(res.get_database())
for column, status in zip(st.columns(len(Status)), Status):
    column.metric(_(views.STATUS_SHORT[status]), counts[status])

filters = st.columns([3, 1.4, 1.6, 1.6], vertical_alignment="bottom")
# Option words looked up once per run (a plain dict's get): Streamlit may format options outside the run.
statuses = filters[0].multiselect(_("Status"), list(Status), default=[Status.SUBMITTED, Status.IN_REVIEW],
                                  format_func={s: _(views.STATUS_SHORT[s]) for s in Status}.get, key="q_status",
                                  on_change=first_page)
uncertain_only = filters[1].toggle(_("Uncertain only"), key="q_uncertain", on_change=first_page)
out_of_scope_only = filters[2].toggle(_("Out of scope only"), key="q_out_of_scope", on_change=first_page)
wait = filters[3].selectbox(_("Waiting at least"), list(WAITS), key="q_wait", on_change=first_page,
                            format_func={w: _(words) for w, words in WAIT_WORDS.items()}.get)

cursors: list[str] = st.session_state.setdefault("queue_cursors", [])
queue_filter = QueueFilter(tuple(statuses), uncertain_only, out_of_scope_only, WAITS[wait])
with res.friendly_errors(operator=True):
    page = cases.queue_page(res.get_database(), queue_filter, limit=PAGE_SIZE,
                            after=cursors[-1] if cursors else None, now=now)
    # Values, not text, so that every column sorts by its value; finished cases show when and by whom
    # they were reviewed instead of a waiting time that keeps growing.
    rows = [{"#": len(cursors) * PAGE_SIZE + rank, "Why here": progress_words(progress_phrases(c, now)),
             "Waiting (days)": None if finished else round((now - c.created_at).total_seconds() / 86400, 2),
             "Status": _(views.STATUS_SHORT[c.status]), "Reviewed": c.reviewed_at if finished else None,
             "Max P(psoriasis)": c.max_p_psoriasis, "Uncertain": c.any_uncertain,
             "Out of scope": c.any_out_of_scope, "Severe itch": c.itch == "severe",
             "Claimed by": c.claimed_by.username if c.claimed_by else "", "Photos from": c.image_source,
             "Language": LANGUAGES.get(c.language or "", c.language or "—"),  # the patient's (issue 21)
             "Consultation": c.public_id}
            for rank, c in enumerate(page.items, start=1)
            for finished in [c.status in FINISHED]]


def audit_listing() -> None:
    with res.friendly_errors(operator=True):
        cases.record_queue_view(res.get_database(), clinician, page=len(cursors) + 1, rows=len(rows))


seen.audit_once(("queue", len(cursors) + 1, tuple(r["Consultation"] for r in rows)), audit_listing)
waiting = cases.waiting_ids(page.items)

if not rows:
    st.info(_("Nothing in the queue matches these filters."), icon=":material/inbox:")
else:
    st.caption(_(TRIAGE_HELP))
    # Column names in the clinician's language (the rows keep the English keys the page reads).
    heading = {name: _(words) for name, words in COLUMN_WORDS.items()}
    table = st.dataframe(pd.DataFrame(rows).rename(columns=heading), hide_index=True, width="stretch", key="q_table",
                         on_select="rerun", selection_mode="single-row", column_config={
        heading["Max P(psoriasis)"]: st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent"),
        heading["Waiting (days)"]: st.column_config.NumberColumn(format="%.1f",
                                                                 help=_("Days since submission (open cases)")),
        heading["Reviewed"]: st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm", timezone="UTC"),
        heading["Why here"]: st.column_config.TextColumn(width="large", help=_(TRIAGE_HELP)),
    })
    if table.selection.rows:  # a click on a row opens it (positions in the rows as given, whatever the sort)
        open_review(rows[table.selection.rows[0]]["Consultation"])
    st.caption(_("Click a row to open it, or choose it below (keyboard)."))
    pick, go, nxt = st.columns([3, 1, 1], vertical_alignment="bottom")
    labels = {r["Consultation"]: f"#{r['#']} · {r['Consultation']} · {r['Status']} · {r['Why here']}" for r in rows}
    # A new listing (another filter, page or order) is a new picker: a kept one could show one case while
    # "Open" opened another (Streamlit keeps a keyed widget's choice across changed options).
    chosen = pick.selectbox(_("Consultation"), list(labels), format_func=labels.get,
                            key=views.listing_key("q_pick", labels))
    if go.button(_("Open"), key="q_open", icon=":material/open_in_new:", width="stretch"):
        open_review(chosen)
    if nxt.button(_("Review next"), type="primary", key="q_next", width="stretch", disabled=not waiting,
                  help=_("The first waiting consultation in this list.")):
        open_review(waiting[0])
paging = st.columns(6)
if cursors and paging[0].button(_("First page"), key="q_first"):
    first_page()
    st.rerun()
if page.next_cursor is not None and paging[1].button(_("Next page"), key="q_more"):
    cursors.append(page.next_cursor.encode())
    st.rerun()

st.subheader(_("Find a consultation"))
query = st.text_input(_("Consultation id (or its first characters)"), key="q_find", max_chars=32,
                      placeholder=_("e.g. the id in a colleague's message"))
if query.strip():
    with res.friendly_errors(operator=True, stop=False):
        found = cases.find_cases(res.get_database(), query)
        if not found:
            st.info(_("No consultation has an id starting with that."), icon=":material/search_off:")
        for match in found:
            if st.button(_("Open {id}").format(id=match.public_id)
                         + f" · {_(views.STATUS_SHORT[match.status])} · "
                         + progress_words(progress_phrases(match, now), markdown=True),
                         key=f"q_found_{match.public_id}", icon=":material/open_in_new:"):
                open_review(match.public_id)

st.subheader(_("Turnaround"))
st.caption(_("Time from submission to the dermatologist's review, by when consultations were submitted "
             "(updated every minute)."))
with res.friendly_errors(operator=True):
    windows = {name: res.cached_turnaround(days) for name, days in TURNAROUND_WINDOWS.items()}
# The chart's values are the words it shows (bars, legend, tooltips), in the clinician's language.
chart = pd.DataFrame([{"window": _(WINDOW_WORDS[name]), "statistic": _(statistic),
                       "hours": value.total_seconds() / 3600, "reviewed": t.count}
                      for name, t in windows.items() if t.count
                      for statistic, value in zip(clinic_figures.STATISTICS, (t.median, t.p90))])
if chart.empty:
    st.caption(_("No consultation has been reviewed yet."))
else:
    order = [_(statistic) for statistic in clinic_figures.STATISTICS]
    st.altair_chart(alt.Chart(chart).mark_bar().encode(
        y=alt.Y("window:N", sort=[_(WINDOW_WORDS[name]) for name in windows], title=None),
        yOffset=alt.YOffset("statistic:N", sort=order),
        x=alt.X("hours:Q", title=_("hours from submission to review")),
        color=alt.Color("statistic:N", sort=order, title=None, legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("window:N", title=_("period")), alt.Tooltip("statistic:N", title=_("statistic")),
                 alt.Tooltip("hours:Q", format=".1f", title=_("hours")),
                 alt.Tooltip("reviewed:Q", title=_("reviewed"))],
    ).properties(height=220), width="stretch")

clinic_figures.show(clinician)  # collapsed: the queue stays first
