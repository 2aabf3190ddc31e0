#!/usr/bin/env bash
# The compatibility matrix: build a named stack of torch / mmcv / mmengine /
# mmdet / numpy in its own virtual environment and run this package's checks
# on it, one line per check.
#
#   bash .dev_scripts/stacks.sh list                 the stacks and their versions
#   bash .dev_scripts/stacks.sh NAME [CHECK...]      build (cached) and check NAME
#   bash .dev_scripts/stacks.sh all [CHECK...]       every stack in turn
#   bash .dev_scripts/stacks.sh table                the latest results as the rows
#                                             of docs/compatibility.md
#
# Checks (all by default, in this order):
#   import   import the package and build a Libra detector from a config
#   fast     the fast test suite (pytest -m "not slow"; not
#            tests/test_stacks.py, which checks docs/compatibility.md)
#   train    MMDetection's tools/train.py on the demo Libra Faster R-CNN:
#            train, evaluate, then --resume
#   alwa     the ALWA demo: trains, logs its weights, resumes
#   gloo     2-rank gloo training (ranks stay identical)
#   onnx     ONNX export and ONNX Runtime parity (where mmdeploy installs)
#
# The environments live in .stacks/NAME (the pinned stack is the repository's
# .venv, the one tools/install.sh builds); mmcv is compiled once per torch
# version (tools/install.sh). Logs: .stacks/logs/NAME-CHECK.log. Exit status
# non-zero when a build or any check fails. Results: docs/compatibility.md.
set -uo pipefail
main() {
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# name | python | torch | mmcv | mmengine | mmdet | numpy requirement |
#   mmcv's C++ standard | other constraints (space-separated)
# mmengine < 0.7.4 lacks what AtomicCheckpointHook needs (it says so);
# mmengine's Config before 0.10 calls yapf's FormatCode(verify=), which
# yapf 0.40.2 removed.
STACKS="\
pinned|3.11|2.13.0|2.1.0|0.10.7|3.3.0|numpy||
common|3.11|2.1.2|2.1.0|0.10.7|3.3.0|numpy==1.26.4||
oldest|3.11|2.0.1|2.0.1|0.7.4|3.0.0|numpy==1.24.4||yapf==0.40.1
newest|3.11|2.15.0|2.1.0|0.10.7|3.3.0|numpy|c++20|
py310|3.10|2.1.2|2.1.0|0.10.7|3.3.0|numpy==1.26.4||
py312|3.12|2.13.0|2.1.0|0.10.7|3.3.0|numpy||"
ALL_CHECKS="import fast train alwa gloo onnx"

stack_line() { printf '%s\n' "$STACKS" | grep "^$1|"; }

if [ "${1:-}" = table ]; then
    # docs/compatibility.md's rows from the latest results in .stacks/logs.
    for s in $(printf '%s\n' "$STACKS" | cut -d'|' -f1); do
        f="$ROOT/.stacks/logs/$s.results"
        [ -f "$f" ] || continue
        line="$(stack_line "$s")"
        versions="$(grep '^build|' "$f" | cut -d'|' -f3)"
        row="| \`$s\` | $(echo "$line" | cut -d'|' -f2) | $(echo "$versions" | sed -n 's/.*torch \([^ ]*\).*/\1/p') | $(echo "$versions" | sed -n 's/.* mmcv \([^ ]*\).*/\1/p') | $(echo "$versions" | sed -n 's/.*mmengine \([^ ]*\).*/\1/p') | $(echo "$versions" | sed -n 's/.*mmdet \([^ ]*\).*/\1/p') | $(echo "$versions" | sed -n 's/.*numpy \([^ ]*\).*/\1/p') |"
        for c in build $ALL_CHECKS; do
            r="$(grep "^$c|" "$f" | cut -d'|' -f2)"
            detail="$(grep "^$c|" "$f" | cut -d'|' -f3 | grep -oE '([0-9]+ (failed|passed|skipped)(, )?)+' | head -n1 | sed 's/, $//')"
            row="$row ${r:-not run}${detail:+ ($detail)} |"
        done
        echo "$row"
    done
    exit 0
fi
if [ "${1:-}" = list ] || [ $# -eq 0 ]; then
    printf '%-8s %-7s %-8s %-7s %-9s %-7s %s\n' stack python torch mmcv mmengine mmdet numpy
    printf '%s\n' "$STACKS" | cut -d'|' -f1-7 | tr '|' ' ' | xargs -n7 printf '%-8s %-7s %-8s %-7s %-9s %-7s %s\n'
    [ $# -eq 0 ] && echo "usage: bash .dev_scripts/stacks.sh NAME|all [CHECK...]  (checks: $ALL_CHECKS)"
    exit 0
fi

NAME="$1"; shift
CHECKS="${*:-$ALL_CHECKS}"
if [ "$NAME" = all ]; then
    rc=0
    for s in $(printf '%s\n' "$STACKS" | cut -d'|' -f1); do
        bash "$0" "$s" $CHECKS || rc=1
    done
    exit $rc
fi
LINE="$(stack_line "$NAME")" || { echo "unknown stack '$NAME' (bash .dev_scripts/stacks.sh list)" >&2; exit 2; }
for c in $CHECKS; do
    case " $ALL_CHECKS " in *" $c "*) ;; *) echo "unknown check '$c' (one of: $ALL_CHECKS)" >&2; exit 2;; esac
done
IFS='|' read -r _ PYVER TORCH MMCV MMENGINE MMDET NUMPY CXX_STD OTHER <<< "$LINE"

LOGS="$ROOT/.stacks/logs"
mkdir -p "$LOGS"
if [ "$NAME" = pinned ]; then VENV="$ROOT/.venv"; else VENV="$ROOT/.stacks/$NAME"; fi
PY="$VENV/bin/python"
report() {
    printf '%-8s %-7s %-4s %s\n' "$NAME" "$1" "$2" "$3"
    # The latest result of each check, for 'bash .dev_scripts/stacks.sh table'.
    { grep -v "^$1|" "$LOGS/$NAME.results" 2>/dev/null; printf '%s|%s|%s\n' "$1" "$2" "$3"; } > "$LOGS/$NAME.results.tmp"
    mv "$LOGS/$NAME.results.tmp" "$LOGS/$NAME.results"
}

# The interpreter: python3.X on PATH, else a pyenv installation of it.
find_python() {
    local p
    for p in "$(command -v "python$1" 2>/dev/null)" "$(ls -d "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/"$1".*/bin/python"$1" 2>/dev/null | sort -V | tail -n1)"; do
        if [ -n "$p" ] && "$p" -c 'import venv' 2>/dev/null; then echo "$p"; return 0; fi
    done
    return 1
}
if [ "$NAME" = pinned ]; then PYTHON_BIN="${PYTHON:-python3}"; else PYTHON_BIN="$(find_python "$PYVER")" || {
    report build skip "no Python $PYVER on this machine"; exit 1; }; fi

t0=$(date +%s)
if ! PYTHON="$PYTHON_BIN" VENV="$VENV" TORCH_VERSION="$TORCH" MMCV_VERSION="$MMCV" MMENGINE_VERSION="$MMENGINE" \
        MMDET_VERSION="$MMDET" NUMPY_SPEC="$NUMPY" MMCV_CXX_STD="$CXX_STD" EXTRA_CONSTRAINTS="$OTHER" bash tools/install.sh > "$LOGS/$NAME-build.log" 2>&1; then
    report build FAIL "$(grep -m1 'ERROR' "$LOGS/$NAME-build.log" || tail -n1 "$LOGS/$NAME-build.log") (log: $LOGS/$NAME-build.log)"
    exit 1
fi
VERSIONS="$("$PY" -c 'import sys, numpy, torch, mmcv, mmengine, mmdet; print("python %d.%d" % sys.version_info[:2], "torch", torch.__version__, "mmcv", mmcv.__version__, "mmengine", mmengine.__version__, "mmdet", mmdet.__version__, "numpy", numpy.__version__)' 2>&1 | tail -n1)"
report build ok "$VERSIONS ($(( $(date +%s) - t0 )) s)"

# pytest on the stack: one worker per core, trainings on one thread each.
pytest_on_stack() {
    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$PY" -m pytest -q -p no:cacheprovider "$@"
}
run_check() {
    case "$1" in
        import) "$PY" -c "
import mmdet_libra_ext
from mmengine.config import Config
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
register_all_modules()
cfg = Config.fromfile('configs/demo/libra-faster-rcnn_r18_fpn_shapes_demo.py')
model = MODELS.build(cfg.model)
ours = sorted({type(m).__name__ for m in model.modules() if type(m).__module__.startswith('mmdet_libra_ext')})
assert ours, 'no module of mmdet_libra_ext in the Libra demo detector'
print(type(model).__name__, 'with', ours)
" ;;
        # (tests/test_stacks.py checks this matrix's own table against
        # setup.py: the same on every stack, and it would read the results
        # this very run is making.)
        fast) pytest_on_stack -n 2 --dist loadfile -m "not slow" --ignore=tests/test_stacks.py ;;
        train) pytest_on_stack -m slow tests/test_train_e2e.py::test_train_evaluate_resume_with_tools_train ;;
        alwa) pytest_on_stack -m slow tests/test_train_e2e.py::test_alwa_demo_trains_logs_and_resumes ;;
        gloo) pytest_on_stack -m slow tests/test_train_distributed.py ;;
        onnx)
            if ! "$PY" -c 'import mmdeploy, onnxruntime' 2>/dev/null; then
                echo "mmdeploy or onnxruntime does not import on this stack"
                return 3
            fi
            pytest_on_stack -n 2 -m "slow or not slow" tests/test_export_onnx.py ;;
    esac
}

rc=0
for c in $CHECKS; do
    t1=$(date +%s)
    run_check "$c" > "$LOGS/$NAME-$c.log" 2>&1
    status=$?
    took="$(( $(date +%s) - t1 )) s"
    summary="$(grep -E '^[=]* ?[0-9]+ (passed|failed)|[0-9]+ (passed|failed|error)' "$LOGS/$NAME-$c.log" | tail -n1 | tr -d '=' | sed 's/^ *//')"
    if [ $status -eq 0 ]; then
        report "$c" ok "${summary:-$(tail -n1 "$LOGS/$NAME-$c.log")} ($took)"
    elif [ $status -eq 3 ]; then
        report "$c" skip "$(tail -n1 "$LOGS/$NAME-$c.log")"
    else
        report "$c" FAIL "${summary:-exit $status} ($took; log: $LOGS/$NAME-$c.log)"
        rc=1
    fi
done
exit $rc
}
main "$@"; exit $?
