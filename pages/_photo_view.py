"""One photo of the review: the stored copy at full resolution, its own attention-map toggle and a zoom that
cuts a window of the full-resolution photo on the server (``clinic.zoom``)."""
from __future__ import annotations

from typing import Any

import streamlit as st

from clinic.zoom import ZOOMS, UnreadablePhoto, zoom_into
from i18n import _
from pages import _messages as messages
from security.text import plain


def show_photo(public_id: str, image: Any) -> None:
    """The photo (a consultation's ``ConsultImage``) with its map toggle and zoom (widget keys per consultation
    and photo)."""
    p = image.prediction
    key = f"{public_id}_{image.position}"
    controls = st.columns([1, 2], vertical_alignment="center")
    has_map = p is not None and p.overlay_png is not None
    mapped = controls[0].toggle(_("Attention map"), key=f"rv_map_{key}", disabled=not has_map) and has_map
    zoom = controls[1].select_slider(_("Zoom"), options=ZOOMS, format_func=lambda z: f"{z}×", key=f"rv_zoom_{key}")
    caption = _("Photo {number} · {width}×{height} px").format(number=image.position + 1, width=image.width,
                                                              height=image.height)
    if mapped:
        caption += " · " + _("attention map")
    source = p.overlay_png if mapped else image.data
    if zoom == 1:
        st.image(source, width="stretch", caption=caption)
        return
    sliders = st.columns(2)
    across = sliders[0].slider(_("Across (%)"), 0, 100, 50, key=f"rv_across_{key}")
    down = sliders[1].slider(_("Down (%)"), 0, 100, 50, key=f"rv_down_{key}")
    try:
        zoomed = zoom_into(source, zoom, across / 100, down / 100)
    except UnreadablePhoto as error:
        st.image(source, width="stretch", caption=caption)
        reason = messages.translated(error)  # the decoder's English in English; its kind's sentence in another
        st.warning(_("This photo cannot be zoomed: {error}").format(
            error=plain(reason if reason is not None else error)))
        return
    left, top, right, bottom = zoomed.box
    st.image(zoomed.data, width="stretch",
             caption=caption + " · " + _("{zoom}× zoom: pixels {left}–{right} across, {top}–{bottom} down of "
                                         "{width}×{height}").format(zoom=zoom, left=left, right=right, top=top,
                                                                   bottom=bottom, width=zoomed.size[0],
                                                                   height=zoomed.size[1]))
