"""Grad-CAM: the one-pass map equals pytorch-grad-cam, hooks never leak, threads never mix maps."""
from __future__ import annotations

import gc
import threading

import numpy as np
import pytest
from PIL import Image

from scalp_model.serving.predictor import Predictor
from tests.factories import photo_array


def _images(n: int) -> list[Image.Image]:
    return [Image.fromarray(photo_array(seed=s)) for s in range(n)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_pass_map_equals_pytorch_grad_cam(predictor: Predictor, seed: int) -> None:
    img = _images(seed + 1)[seed]
    pred = predictor.predict(img)
    reference = predictor.explain(img, method="gradcam", class_name=pred.label)
    assert reference.std() > 0.05, "reference map is not degenerate"
    np.testing.assert_allclose(pred.cam, reference, atol=1e-4)


def test_other_class_map_differs(predictor: Predictor) -> None:
    img = _images(1)[0]
    a = predictor.explain(img, class_name="psoriasis")
    b = predictor.explain(img, class_name="seborrheic_dermatitis")
    assert np.abs(a - b).max() > 0.1


@pytest.mark.parametrize("method", ["gradcam++", "eigencam", "layercam"])
def test_library_methods_available(predictor: Predictor, method: str) -> None:
    cam = predictor.explain(_images(1)[0], method=method)
    assert cam.shape == (224, 224) and np.isfinite(cam).all()


def test_unknown_method(predictor: Predictor) -> None:
    with pytest.raises(ValueError, match="gradcam"):
        predictor.explain(_images(1)[0], method="magic")


def _hook_count(model) -> int:
    return sum(len(m._forward_hooks) + len(m._backward_hooks) + len(getattr(m, "_forward_pre_hooks", {}))
               for m in model.modules())




def test_hundred_calls_leave_no_hooks_or_memory_growth(predictor: Predictor) -> None:
    import tracemalloc

    img = _images(1)[0]
    predictor.explain(img)
    models = (predictor.model, predictor._hookable_model())
    before = [_hook_count(m) for m in models]
    gc.collect()
    tracemalloc.start()
    for i in range(100):
        predictor.explain(img)
        if i == 9:
            gc.collect()
            baseline, _ = tracemalloc.get_traced_memory()
    gc.collect()
    after_mem, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert [_hook_count(m) for m in models] == before
    assert after_mem - baseline < 5 * 1024 * 1024, f"grew by {(after_mem - baseline) / 1e6:.1f} MB"


def test_two_threads_explaining_get_their_own_maps(predictor: Predictor) -> None:
    """One thread explains while the other explains *and* predicts through the shared model."""
    a, b = _images(2)
    alone_a, alone_b = predictor.explain(a), predictor.explain(b)
    assert np.abs(alone_a - alone_b).max() > 0.05
    out: dict[str, list[np.ndarray]] = {"a": [], "b": []}

    def run(key: str, img: Image.Image) -> None:
        for _ in range(4):
            out[key].append(predictor.explain(img))
            out[key].append(predictor.predict(img).cam)

    threads = [threading.Thread(target=run, args=("a", a)), threading.Thread(target=run, args=("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for m in out["a"]:
        np.testing.assert_allclose(m, alone_a, atol=1e-5)
    for m in out["b"]:
        np.testing.assert_allclose(m, alone_b, atol=1e-5)


def test_overlay_blend_matches_pytorch_grad_cam() -> None:
    from pytorch_grad_cam.utils.image import show_cam_on_image

    from scalp_model.serving.cam import blend_heatmap

    rng = np.random.default_rng(0)
    rgb = rng.random((40, 60, 3)).astype(np.float32)
    mask = rng.random((40, 60)).astype(np.float32)
    for weight in (0.2, 0.55, 0.9):
        np.testing.assert_array_equal(blend_heatmap(rgb, mask, weight),
                                      show_cam_on_image(rgb, mask, use_rgb=True, image_weight=weight))


def test_a_bad_class_index_raises_instead_of_returning_none(predictor: Predictor) -> None:
    """pytorch-grad-cam's ``with`` block swallows an IndexError and returns None: the index is checked first."""
    import torch

    from scalp_model.serving.cam import library_cam

    batch = torch.from_numpy(predictor._inputs(_images(1))).requires_grad_(True)
    with pytest.raises(ValueError, match="class index 5 is out of range: this model has 2 classes"):
        library_cam(predictor._hookable_model(), batch, "inception5b", [5])
    with pytest.raises(ValueError, match="class index -1 is out of range"):
        library_cam(predictor._hookable_model(), batch, "inception5b", [-1])
    with pytest.raises(ValueError, match="2 class indices for 1 images"):
        library_cam(predictor._hookable_model(), batch, "inception5b", [0, 1])
    assert library_cam(predictor._hookable_model(), batch, "inception5b", [1]).shape == (1, 224, 224)


def test_an_error_the_library_swallows_is_not_returned_as_none(predictor: Predictor,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from scalp_model.serving import cam

    monkeypatch.setattr(cam, "_check_class_index", lambda *args: None)  # let the bad index reach the library
    batch = torch.from_numpy(predictor._inputs(_images(1))).requires_grad_(True)
    hooks = _hook_count(predictor._hookable_model())
    with pytest.raises(RuntimeError, match="returned no map"):
        cam.library_cam(predictor._hookable_model(), batch, "inception5b", [5])
    assert _hook_count(predictor._hookable_model()) == hooks  # the library's hooks were still released


def test_explain_names_an_unknown_class(predictor: Predictor) -> None:
    with pytest.raises(ValueError, match="unknown class 'eczema'.*psoriasis"):
        predictor.explain(_images(1)[0], class_name="eczema")


@pytest.mark.parametrize("weight", [0.2, 0.55, 0.9])
def test_overlay_png_pixels_equal_show_cam_on_image(predictor: Predictor, weight: float) -> None:
    """The table-driven overlay gives the library's pixels exactly, stretched to the photo's own shape."""
    import io

    import cv2
    from pytorch_grad_cam.utils.image import show_cam_on_image

    from scalp_model.serving.cam import overlay_png

    for seed, (w, h) in enumerate([(512, 341), (300, 451), (97, 64)]):
        img = Image.fromarray(photo_array(w, h, seed=seed))
        cam = predictor.predict(img).cam
        png = overlay_png(img, cam, image_weight=weight)
        decoded = Image.open(io.BytesIO(png))
        assert png.startswith(b"\x89PNG") and decoded.mode == "RGB" and decoded.size == (w, h)
        assert not decoded.info  # no metadata chunks
        rgb = np.asarray(img, dtype=np.float32) / 255.0
        expected = show_cam_on_image(rgb, np.clip(cv2.resize(cam, (w, h)), 0, 1), use_rgb=True, image_weight=weight)
        np.testing.assert_array_equal(np.asarray(decoded), expected)
