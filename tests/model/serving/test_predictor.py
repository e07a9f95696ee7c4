"""The predictor: decisions from the checkpoint's metadata, thread safety, devices."""
from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scalp_model.errors import InvalidImageError
from scalp_model.serving.predictor import Predictor, resolve_device
from tests.factories import image_bytes, make_checkpoint, photo_array


def test_prediction_fields(predictor: Predictor) -> None:
    pred = predictor.predict(Image.fromarray(photo_array()))
    assert 0.0 <= pred.p_psoriasis <= 1.0
    assert pred.label in ("psoriasis", "seborrheic_dermatitis")
    assert pred.label == ("psoriasis" if pred.p_psoriasis >= pred.threshold else "seborrheic_dermatitis")
    assert pred.cam.shape == (224, 224) and 0.0 <= pred.cam.min() and pred.cam.max() <= 1.0 + 1e-6
    assert pred.model_sha256 == predictor.sha256 and pred.model_version == "test-tiny"
    assert set(pred.timings_ms) >= {"preprocess", "model"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        pred.label = "x"  # frozen
    assert pred.label in ("psoriasis", "seborrheic_dermatitis")


def test_threshold_and_band_come_from_checkpoint(tmp_path: Path) -> None:
    img = Image.fromarray(photo_array())
    # a high temperature keeps p away from 0 and 1 so thresholds on both sides exist
    base = Predictor.from_path(make_checkpoint(tmp_path / "a.pt", temperature=1e4), device="cpu")
    p = base.predict(img).p_psoriasis
    assert 0.2 < p < 0.8

    def at(threshold: float, name: str):
        ckpt = make_checkpoint(tmp_path / name, temperature=1e4, threshold=threshold, uncertain_band=0.02)
        return Predictor.from_path(ckpt, device="cpu").predict(img)

    above, below = at(p + 0.01, "b.pt"), at(p - 0.1, "c.pt")
    assert above.label == "seborrheic_dermatitis" and above.uncertain
    assert below.label == "psoriasis" and not below.uncertain


def test_temperature_softens_probabilities(tmp_path: Path) -> None:
    img = Image.fromarray(photo_array())
    sharp = Predictor.from_path(make_checkpoint(tmp_path / "a.pt"), device="cpu").predict(img).p_psoriasis
    soft = Predictor.from_path(make_checkpoint(tmp_path / "b.pt", temperature=50.0), device="cpu").predict(img).p_psoriasis
    assert abs(soft - 0.5) < abs(sharp - 0.5)


def test_batch_equals_single(predictor: Predictor) -> None:
    images = [Image.fromarray(photo_array(seed=s)) for s in range(3)]
    batch = predictor.predict_batch(images)
    for img, b in zip(images, batch):
        single = predictor.predict(img)
        assert abs(single.p_psoriasis - b.p_psoriasis) < 1e-5
        np.testing.assert_allclose(single.cam, b.cam, atol=1e-4)


def test_analyze_bytes_rejects_bad_input(predictor: Predictor) -> None:
    with pytest.raises(InvalidImageError):
        predictor.analyze_bytes(b"not an image at all")
    analysis = predictor.analyze_bytes(image_bytes("PNG"))
    assert analysis.overlay_png().startswith(b"\x89PNG")
    assert "blur_variance" in analysis.quality.to_dict()


def test_threads_share_one_predictor_without_mixing(predictor: Predictor) -> None:
    images = [Image.fromarray(photo_array(seed=s)) for s in range(4)]
    alone = [predictor.predict(img) for img in images]
    results: dict[int, list] = {i: [] for i in range(4)}

    def work(i: int) -> None:
        for _ in range(3):
            results[i].append(predictor.predict(images[i]))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        for r in results[i]:
            assert abs(r.p_psoriasis - alone[i].p_psoriasis) < 1e-5
            np.testing.assert_allclose(r.cam, alone[i].cam, atol=1e-4)


def test_device_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCALPSCOPE_DEVICE", "cpu")
    assert resolve_device().type == "cpu"
    monkeypatch.setenv("SCALPSCOPE_DEVICE", "tpu")
    with pytest.raises(ValueError, match="SCALPSCOPE_DEVICE"):
        resolve_device()


def test_analyze_many_keeps_order_and_passes_failures_through(predictor: Predictor) -> None:
    blobs = [image_bytes(seed=s) for s in range(5)]
    items: list = [blobs[0], b"not an image", blobs[1], OSError("unreadable"), *blobs[2:]]
    results = list(predictor.analyze_many(items, batch_size=2))
    assert len(results) == len(items)
    assert isinstance(results[1], InvalidImageError) and isinstance(results[3], OSError)
    singles = [predictor.analyze_bytes(b) for b in blobs]
    good = [r for r in results if not isinstance(r, Exception)]
    for many, one in zip(good, singles):
        assert abs(many.prediction.p_psoriasis - one.prediction.p_psoriasis) < 1e-5
        assert many.quality == one.quality and many.decoded.original_size == one.decoded.original_size
        np.testing.assert_allclose(many.prediction.cam, one.prediction.cam, atol=1e-4)
        assert many.prediction.timings_ms["preprocess"] > 0


def test_analyze_many_of_nothing(predictor: Predictor) -> None:
    assert list(predictor.analyze_many([])) == []


def test_a_checkpoint_mapping_another_layer_is_refused_before_any_engine_is_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scalp_model.serving import predictor as predictor_module
    from scalp_model.errors import ScalpScopeError, WeightsMismatchError

    def no_engine(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("an engine was chosen (and maybe exported) for a checkpoint that cannot be served")

    monkeypatch.setattr(predictor_module, "select_engine", no_engine)
    ckpt = make_checkpoint(tmp_path / "layer.pt", cam_target_layer="inception4e")
    with pytest.raises(WeightsMismatchError, match="'inception4e'.*only at GoogLeNet's last block, 'inception5b'") as info:
        Predictor.from_path(ckpt, device="cpu")
    assert isinstance(info.value, ScalpScopeError) and str(ckpt) in str(info.value)
