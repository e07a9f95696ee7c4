"""Model page: version and threshold from the checkpoint, the card and plots beside it, missing weights."""
from __future__ import annotations

import shutil

from PIL import Image

from scalp_model.serving.checkpoint import card_path
from tests.app.conftest import assert_clean, texts

PAGE = "pages/model.py"


def test_shows_checkpoint_metadata_and_limitations(at):
    at.switch_page(PAGE).run()
    assert_clean(at)
    # the version is a wrapping line, not a metric tile that cuts a long version off (issue 18, item 11)
    assert [m.value for m in at.metric] == ["0.50", "± 0.10", "1.00"]
    assert "**Version** test-tiny" in texts(at.markdown)
    assert any("only knows **two conditions**" in m for m in texts(at.markdown))
    assert any("No model card" in w for w in texts(at.warning))  # the tiny checkpoint has none


def test_card_and_plots_beside_the_checkpoint(at, app_env, monkeypatch, tiny_checkpoint):
    weights = app_env / "weights" / "demo.pt"
    weights.parent.mkdir()
    shutil.copy(tiny_checkpoint, weights)
    card_path(weights).write_text("# Demo model card\n\nIntended use: sorting a review queue.\n", encoding="utf-8")
    for name in ("roc", "reliability"):
        Image.new("RGB", (60, 40), "white").save(weights.parent / f"demo_{name}.png")
    monkeypatch.setenv("SCALPSCOPE_WEIGHTS", str(weights))
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert any(m.startswith("# Demo model card") for m in texts(at.markdown))
    assert sorted(c for image in at.image for c in image.captions) == ["reliability", "roc"]


def test_missing_weights_say_what_to_do(at, monkeypatch, tmp_path):
    monkeypatch.setenv("SCALPSCOPE_WEIGHTS", str(tmp_path / "missing.pt"))
    at.switch_page(PAGE).run()
    assert_clean(at)
    assert "SCALPSCOPE_WEIGHTS" in at.error[0].value and "missing.pt" in at.error[0].value
    assert not at.metric
