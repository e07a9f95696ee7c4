"""The review's photos (issue 19, item 3): each photo has its own map toggle and a zoom into the stored
full-resolution copy, cut on the server."""
from __future__ import annotations

from tests.app.conftest import (  # noqa: F401  (fixtures)
    _fast_password_hashing,
    _navigation_mode,
    app_env,
    assert_clean,
    at,
    clinician,
    database,
    seed_consultation,
    sign_in,
)
from tests.app.test_clinician import open_review


def _captions(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [c for image in at.image for c in image.captions]


def test_each_photo_has_its_own_map_toggle(at, clinician, database) -> None:  # type: ignore[no-untyped-def]
    case, _ = seed_consultation(database, images=2)
    sign_in(at)
    open_review(at, case).run()
    assert_clean(at)
    assert _captions(at) == ["Photo 1 · 64×48 px", "Photo 2 · 64×48 px"]  # the stored copy at its full size
    at.toggle(key=f"rv_map_{case}_1").set_value(True).run()
    assert_clean(at)
    assert _captions(at) == ["Photo 1 · 64×48 px", "Photo 2 · 64×48 px · attention map"]


def test_zoom_shows_a_window_of_the_full_size_photo(at, clinician, database) -> None:  # type: ignore[no-untyped-def]
    case, _ = seed_consultation(database, images=2)
    sign_in(at)
    open_review(at, case).run()
    assert [s.value for s in at.select_slider] == [1, 1]
    at.select_slider(key=f"rv_zoom_{case}_0").set_value(2).run()
    assert_clean(at)
    assert _captions(at) == ["Photo 1 · 64×48 px · 2× zoom: pixels 16–48 across, 12–36 down of 64×48",
                             "Photo 2 · 64×48 px"]
    at.slider(key=f"rv_across_{case}_0").set_value(0).run()
    assert _captions(at)[0] == "Photo 1 · 64×48 px · 2× zoom: pixels 0–32 across, 12–36 down of 64×48"
