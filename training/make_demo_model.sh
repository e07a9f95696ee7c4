#!/usr/bin/env bash
# The exact commands that produced weights/scalpscope-googlenet-demo.pt (see training/README.md).
# Run from the repository root with the dev venv; the images live in ../shared/data and are never copied here.
set -euo pipefail
PY=${PY:-/root/.cache/scalpscope-dev-venv/bin/python}
DATA=${DATA:-../shared/data}
WORK=${WORK:-/tmp/scalp}
mkdir -p "$WORK"

# 1. Teacher targets: augmented 160 px views of the scalp TRAINING split (seed 0; val/test never seen),
#    body/ and other_dermoscopy/, with EfficientNet-Lite0 (ImageNet) pooled features and logits.
$PY -m scalp_model.teacher cache "$DATA/scalp" --extra "$DATA/body" "$DATA/other_dermoscopy" \
    --out "$WORK/teacher160.npz" --seed 0

# 2. Feature distillation into a GoogLeNet from scratch (no disease labels used).
$PY -m scalp_model.distill "$WORK/teacher160.npz" --out "$WORK/distilled.pth" ${DISTILL_ARGS:-}

# 3. Fine-tune on scalp with the paper's recipe, calibrate, gate, evaluate on the held-out test split, write the card.
$PY -m scalp_model train "$DATA/scalp" --out weights/scalpscope-googlenet-demo.pt --init "$WORK/distilled.pth" \
    --ood-dir "$DATA/other_dermoscopy" ${TRAIN_ARGS:-}
