#!/usr/bin/env bash
# A demo config with and without ALWA, same schedule, for each seed given.
#   bash tools/compare_alwa.sh BASE_CONFIG ALWA_CONFIG [SEED ...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
BASE="$1"; ALWA="$2"; shift 2
TRAIN="$("$PY" -c 'import mmdet, os; print(os.path.join(os.path.dirname(mmdet.__file__), ".mim", "tools", "train.py"))')"
[ -f data/shapes/annotations/instances_val.json ] || "$PY" -m mmdet_libra_ext.datasets.make_shapes data/shapes
mkdir -p work_dirs/compare_alwa
for seed in "${@:-0}"; do
    for cfg in "$BASE" "$ALWA"; do
        work="work_dirs/compare_alwa/$(basename "$cfg" .py)_seed$seed"
        [ -f "$work.log" ] && grep -q bbox_mAP_copypaste "$work.log" || \
            "$PY" "$TRAIN" "$cfg" --work-dir "$work" \
                --cfg-options randomness.seed="$seed" > "$work.log" 2>&1 \
            || { echo "run failed, see $work.log" >&2; exit 1; }
        echo "$(basename "$cfg" .py) seed $seed: $(grep -o 'bbox_mAP_copypaste: .*' "$work.log" | tail -1)"
    done
done
