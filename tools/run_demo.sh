#!/usr/bin/env bash
# Quick-start command 1: set up the environment, generate the embedded
# dataset if missing, train and evaluate the demo detector with MMDetection's
# own tools/train.py, then print the COCO box mAP and write a report.
#   bash tools/run_demo.sh [CONFIG] [extra tools/train.py args...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/install.sh
PY="$ROOT/.venv/bin/python"
CONFIG="${1:-configs/demo/libra-faster-rcnn_r18_fpn_shapes_demo.py}"
shift || true
NAME="$(basename "$CONFIG" .py)"
WORK_DIR="${WORK_DIR:-work_dirs/$NAME}"

if [ ! -f data/shapes/annotations/instances_val.json ]; then
    echo "[demo] generating the embedded shapes dataset in data/shapes"
    "$PY" -m mmdet_libra_ext.datasets.make_shapes data/shapes
fi
TRAIN="$("$PY" -c 'import mmdet, os; print(os.path.join(os.path.dirname(mmdet.__file__), ".mim", "tools", "train.py"))')"
echo "[demo] training $CONFIG with $TRAIN (work dir $WORK_DIR)"
start=$(date +%s)
"$PY" "$TRAIN" "$CONFIG" --work-dir "$WORK_DIR" "$@"
echo "[demo] trained and evaluated in $(( $(date +%s) - start )) s"
"$PY" tools/analysis_tools/report.py "$WORK_DIR"
