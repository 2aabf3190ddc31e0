#!/usr/bin/env bash
# Balanced L1 with beta = 0.11 on the demo Libra RetinaNet: this package's
# continuous-gradient formula against MMDetection's (mmdet_compat=True),
# same schedule, for each seed given (default: 0).
#   bash tools/compare_beta.sh [SEED ...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
CONFIG=configs/demo/libra-retinanet_r18_fpn_shapes_demo.py
TRAIN="$("$PY" -c 'import mmdet, os; print(os.path.join(os.path.dirname(mmdet.__file__), ".mim", "tools", "train.py"))')"
[ -f data/shapes/annotations/instances_val.json ] || "$PY" -m mmdet_libra_ext.datasets.make_shapes data/shapes
for seed in "${@:-0}"; do
    for compat in False True; do
        work="work_dirs/compare_beta/seed${seed}_mmdet_compat_${compat}"
        "$PY" "$TRAIN" "$CONFIG" --work-dir "$work" --cfg-options \
            randomness.seed="$seed" \
            model.bbox_head.loss_bbox.mmdet_compat="$compat" > "$work.log" 2>&1 \
            || { echo "run failed, see $work.log" >&2; exit 1; }
        echo "seed $seed mmdet_compat=$compat: $(grep -o 'bbox_mAP_copypaste: .*' "$work.log" | tail -1)"
    done
done
