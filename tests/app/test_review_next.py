""""Save and next" on the review page opens the next waiting case of the queue as it was filtered."""
from __future__ import annotations

from tests.app.conftest import (  # noqa: F401  (fixtures)
    _fast_password_hashing,
    _navigation_mode,
    app_env,
    assert_clean,
    at,
    clinician,
    database,
    queue_picker,
    seed_consultation,
    sign_in,
    texts,
)
from tests.app.test_clinician import fill_review


def test_save_and_next_stays_in_the_filtered_queue(at, clinician, database) -> None:
    out_of_scope, _ = seed_consultation(database, p=0.6, out_of_scope=True)  # due first in the whole queue
    first, _ = seed_consultation(database, p=0.55, uncertain=True)
    second, _ = seed_consultation(database, p=0.45, uncertain=True)
    sign_in(at)
    at.toggle(key="q_uncertain").set_value(True).run()
    queue_picker(at).select(first)
    at.button(key="q_open").click().run()
    at.switch_page("pages/review.py").run()
    assert at.title[0].value == f"Consultation {first}"
    fill_review(at, first, "psoriasis", "Plaques.", "yes")
    at.button(key=f"FormSubmitter:review_{first}-Save and next").click().run()
    assert_clean(at)
    assert at.title[0].value == f"Consultation {second}"  # not {out_of_scope}, which the filter hides
    fill_review(at, second, "seborrheic_dermatitis")
    at.button(key=f"FormSubmitter:review_{second}-Save and next").click().run()
    assert texts(at.success) == [f"Review of {second} saved. No consultation is waiting in this queue."]
