#!/usr/bin/env bash
# The exact commands behind weights/scalpscope-googlenet-demo.pt; see training/README.md for what each stage does.
# Run from the repository root with the dev venv (./scalpscope install dev). The images live in ../shared/data and
# are never copied here; intermediate files go to $WORK (/tmp/scalp). CPU figures: 2-core AMD EPYC, no GPU.
set -euo pipefail
PY=${PY:-.venv/bin/python}
DATA=${DATA:-../shared/data}
W=${WORK:-/tmp/scalp}
RUN=${RUN:-fm-lite1}
mkdir -p "$W"

# 1. Teacher study: EfficientNet-Lite0/1/2 and their concatenation as frozen-feature probes, group 5-fold CV x 3
#    seeds, at 224 and 160 px (one JSON report per row; the card lists them). ~10 min.
$PY -m scalp_model.training.teacher_study "$DATA/scalp" --sizes 224 160 --out-dir "$W/cv"

# 2. Patient, consistent distillation of EfficientNet-Lite1 (224 px views) into GoogLeNet from scratch (112 px).
#    Resumable: re-run the same command after any stop; it continues from training/runs/$RUN/state.pt, or from the
#    committed milestone training/checkpoints/$RUN-student.pt on a new machine. --minutes bounds one sitting.
#    Shipped student: see the card's "Distillation" section for its step, hours and fidelity.
nice -n 10 $PY -m scalp_model.training.patient_distill --run-dir "training/runs/$RUN" \
    --milestone "training/checkpoints/$RUN-student.pt" --minutes "${DISTILL_MINUTES:-0}" --max-steps "${DISTILL_STEPS:-0}"

# 3. The EMA student's GoogLeNet trunk, for train --init.
$PY -m scalp_model.training.patient_distill --run-dir "training/runs/$RUN" \
    --milestone "training/checkpoints/$RUN-student.pt" --export "$W/student.pth"

# 4. Linear probe on the frozen trunk, temperature and threshold (sensitivity >= 0.95) from training-split group CV,
#    out-of-scope gate, test split via the app's Predictor, recipe cross-validation on all photos beside the
#    teacher probes, card; then int8 calibration (train runs 'quantize'). ~10 min.
$PY -m scalp_model train "$DATA/scalp" --out weights/scalpscope-googlenet-demo.pt --init "$W/student.pth" \
    --head-init linear-probe --epochs 0 --calibrate cv \
    --cv-reference "EfficientNet-Lite0 teacher=$W/cv/teacher-lite0-224.json" \
    --cv-reference "EfficientNet-Lite1 teacher (the one distilled)=$W/cv/teacher-lite1-224.json" \
    --cv-reference "EfficientNet-Lite2 teacher=$W/cv/teacher-lite2-224.json" \
    --cv-reference "Lite0+Lite1+Lite2 teachers=$W/cv/teacher-lite0+lite1+lite2-224.json" \
    --cv-reference "previous shipped model demo-v2-distilled-lpft=$W/cv/demo-v2.json" \
    --distill-log "training/runs/$RUN/log.jsonl" \
    --ood-dir "$DATA/other_dermoscopy" --ood-limit 200 --threads 2 --version "${VERSION:-demo-v3-fm-lite1}"

# Checks that reproduce the card:
#   $PY -m scalp_model evaluate "$DATA/scalp" --split test --json
#   $PY -m scalp_model crossval "$DATA/scalp"
