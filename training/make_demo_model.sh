#!/usr/bin/env bash
# The exact commands that produced weights/scalpscope-googlenet-demo.pt (demo-v2-distilled-lpft); see training/README.md.
# Run from the repository root with the dev venv; the images live in ../shared/data and are never copied here.
# Wall-clock budgets (--minutes) make the distillation depend on machine speed: the shipped run had 2 CPU cores
# shared with other jobs (3 epochs, then 67 steps). Intermediate files go to /tmp/scalp.
set -euo pipefail
PY=${PY:-/root/.cache/scalpscope-dev-venv/bin/python}
DATA=${DATA:-../shared/data}
W=${WORK:-/tmp/scalp}
mkdir -p "$W"

# 1. Teacher targets (EfficientNet-Lite0, ImageNet): 6 augmented 160 px views per scalp TRAINING image (seed 0 split;
#    val/test never seen), 2 views per body/ and other_dermoscopy/ image. ~6 min.
$PY -m scalp_model.teacher cache "$DATA/scalp" --extra "$DATA/body" "$DATA/other_dermoscopy" --out "$W/teacher160.npz"

# 2. Label-free feature distillation into GoogLeNet from scratch (pooled features + ImageNet KL), 112 px then 160 px.
$PY -m scalp_model.distill "$W/teacher160.npz" --out "$W/distilled_v1.pth" --minutes 22 --size 112

# 3. Continue, adding the teacher's scalp-disease logit (logistic head on teacher features, scalp training views only).
$PY -m scalp_model.distill "$W/teacher160.npz" --out "$W/distilled_v2.pth" --init "$W/distilled_v1.pth" \
    --minutes 24 --size 112 --lr 1e-3 --warmup 20 --task-weight 1.0 --kd-weight 0.25

# 4. Paper recipe fine-tune (Adam 1e-4, MSE softmax vs one-hot + L2, rotation ±90°, scale 1-2, 224 px) after a linear
#    probe, inception5 + head trainable; temperature, threshold, OOD gate, test figures via Predictor, card.
$PY -m scalp_model train "$DATA/scalp" --out weights/scalpscope-googlenet-demo.pt --init "$W/distilled_v2.pth" \
    --head-init linear-probe --freeze inception4 --epochs 12 --class-weights balanced \
    --ood-dir "$DATA/other_dermoscopy" --ood-limit 200 --threads 2 --version demo-v2-distilled-lpft

# 5. Ablation table in the card (runs on the same split; see the card for their commands).
# $PY -m scalp_model.card weights/scalpscope-googlenet-demo.pt --variant NAME CHECKPOINT ... --row JSON ...

# 6. Int8 CPU inference: activation ranges calibrated on the training split, fp32-vs-int8 figures on val+test, both
#    written into the checkpoint and its card (the int8 model is rebuilt from them on first use). ~30 s.
$PY -m scalp_model quantize "$DATA/scalp" --weights weights/scalpscope-googlenet-demo.pt
