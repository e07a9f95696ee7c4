"""Kind 2, through the page: a modified client's answers outside the lists end in a message, not a row."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1.element_tree import Multiselect, Selectbox

from db.models import Consultation
from tests.app.conftest import (  # noqa: F401  (fixtures)
    _fast_password_hashing,
    _navigation_mode,
    app_env,
    assert_clean,
    at,
    database,
    fake_predictor,
    shown_access_code,
    texts,
)
from tests.factories import image_bytes


@pytest.mark.parametrize(("key", "value"), [
    ("nc_age", "x" * 96), ("nc_sex", "**male** [x](http://127.0.0.1:9/)"), ("nc_duration", "y" * 100),
    ("nc_itch", "unbearable"), ("nc_sites", ["top", "x" * 70]), ("nc_treatment", "shampoo\x00"),
])
def test_a_modified_client_cannot_store_other_answers(at, fake_predictor, database, monkeypatch, key,
                                                     value) -> None:
    def any_string(self: Selectbox) -> WidgetState:
        """What a select box sends on the wire: a string, which a modified client chooses freely."""
        state = WidgetState(id=self.id)
        if self.value is not None:
            state.string_value = str(self.value)
        return state

    def any_strings(self: Multiselect) -> WidgetState:
        """What a multiselect sends on the wire: a list of strings, which a modified client chooses freely."""
        state = WidgetState(id=self.id)
        state.string_array_value.data[:] = [str(v) for v in self.value]
        return state

    monkeypatch.setattr(Selectbox, "_widget_state", property(any_string))
    monkeypatch.setattr(Multiselect, "_widget_state", property(any_strings))
    at.switch_page("pages/new_consultation.py").run()
    at.checkbox(key="nc_consent").check()
    at.file_uploader(key="nc_files").set_value([("scalp.jpg", image_bytes("JPEG", seed=2), "image/jpeg")])
    at.run()
    at.session_state[key] = value  # a client that ignores the select boxes
    at.button(key="nc_submit").click().run()
    assert not at.exception
    assert shown_access_code(at) is None
    assert any("choose" in e or "cannot be stored" in e for e in texts(at.error)), texts(at.error)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Consultation)) == 0
