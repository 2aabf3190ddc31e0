#!/usr/bin/env bash
# Idempotent installer for mmdet_libra_ext on a machine with only Python 3.11.
# Creates .venv in the repository root with the pinned CPU toolchain:
#   torch==2.13.0, mmengine==0.10.7, mmcv==2.1.0 (compiled), mmdet==3.3.0,
# then installs this package in editable mode with its test and deploy
# (onnx, onnxruntime, onnxscript, mmdeploy's imports) extras and
# mmdeploy==1.3.1 without its dependency pins.
# Usage: bash tools/install.sh            (PYTHON=python3.11 to pick the interpreter)
#
# The versions can be overridden (.dev_scripts/stacks.sh does, one virtual
# environment per stack): VENV, TORCH_VERSION, MMCV_VERSION,
# MMENGINE_VERSION, MMDET_VERSION, NUMPY_SPEC (a pip requirement such as
# 'numpy==1.26.4'), WITH_DEPLOY=0 to leave out the ONNX tools.
# Every pip command of a run obeys one constraints file ($VENV/constraints.txt)
# holding these versions, so no later dependency can move torch or numpy.
# mmcv is built once per (mmcv, torch) pair into its own wheel folder under
# MMCV_WHEELS (never pip's wheel cache: a wheel built against one torch fails
# under another with an undefined symbol).
set -euo pipefail
# (One function, read whole before it runs: editing this file while it
# runs cannot derail it.)
main() {

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
MMCV_VERSION="${MMCV_VERSION:-2.1.0}"
MMENGINE_VERSION="${MMENGINE_VERSION:-0.10.7}"
MMDET_VERSION="${MMDET_VERSION:-3.3.0}"
NUMPY_SPEC="${NUMPY_SPEC:-numpy}"
WITH_DEPLOY="${WITH_DEPLOY:-1}"
MMCV_WHEELS="${MMCV_WHEELS:-${XDG_CACHE_HOME:-$HOME/.cache}/mmdet_libra_ext/wheels}"

say() { printf '[install %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[install] ERROR: %s\n' "$*" >&2; exit 1; }

step() {
    # step "description" command...
    local what="$1"; shift
    say "$what"
    "$@" || die "step failed: $what (command: $*)"
}

have() {
    # have "pkg==ver": true when the venv already holds exactly that version.
    local name="${1%%==*}" ver="${1##*==}"
    # (A local version label such as torch's "+cpu" is not compared.)
    [ "$("$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('$name').split('+')[0])" 2>/dev/null)" = "$ver" ]
}

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 10) else 1)' \
    || die "$PYTHON is too old; mmdet_libra_ext needs Python >= 3.10 (3.10 to 3.12 tested)"

if [ ! -x "$VENV/bin/python" ]; then
    step "creating virtual environment at $VENV" "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
CONSTRAINTS="$VENV/constraints.txt"
printf '%s\n' "torch==$TORCH_VERSION" "mmcv==$MMCV_VERSION" \
    "mmengine==$MMENGINE_VERSION" "mmdet==$MMDET_VERSION" "$NUMPY_SPEC" > "$CONSTRAINTS"
# shellcheck disable=SC2086
[ -n "${EXTRA_CONSTRAINTS:-}" ] && printf '%s\n' $EXTRA_CONSTRAINTS >> "$CONSTRAINTS"
export PIP_CONSTRAINT="$CONSTRAINTS"

have "torch==$TORCH_VERSION" || step "installing torch==$TORCH_VERSION" "${PIP[@]}" install "torch==$TORCH_VERSION" "$NUMPY_SPEC"
# mmcv's setup.py and mmengine's 'mmdet::' config resolution both import
# pkg_resources; 'pip wheel' without build isolation needs 'wheel'.
"$VENV/bin/python" -c 'import pkg_resources, wheel' 2>/dev/null \
    || step "installing setuptools<70 (provides pkg_resources)" "${PIP[@]}" install 'setuptools<70' wheel
have "mmengine==$MMENGINE_VERSION" || step "installing mmengine==$MMENGINE_VERSION" \
    "${PIP[@]}" install "mmengine==$MMENGINE_VERSION" "$NUMPY_SPEC" 'opencv-python-headless'
if [ -n "${EXTRA_CONSTRAINTS:-}" ]; then
    # shellcheck disable=SC2086
    [ "$(cat "$VENV/.extra-constraints" 2>/dev/null)" = "$EXTRA_CONSTRAINTS" ] \
        || { step "installing $EXTRA_CONSTRAINTS" "${PIP[@]}" install $EXTRA_CONSTRAINTS && echo "$EXTRA_CONSTRAINTS" > "$VENV/.extra-constraints"; }
fi
if ! have "mmcv==$MMCV_VERSION"; then
    # The wheel folder is named after the exact torch build it links against.
    TORCH_BUILD="$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
    WHEEL_DIR="$MMCV_WHEELS/mmcv-$MMCV_VERSION-torch-$TORCH_BUILD-py$("$VENV/bin/python" -c 'import sys; print("%d%d" % sys.version_info[:2])')"
    SOURCE="mmcv==$MMCV_VERSION"
    if [ -n "${MMCV_CXX_STD:-}" ]; then
        # mmcv's setup.py compiles with -std=c++17; newer torch headers need
        # a newer standard (torch 2.15: C++20).
        WHEEL_DIR="$WHEEL_DIR-$MMCV_CXX_STD"
        SRC_DIR="$MMCV_WHEELS/src"
        mkdir -p "$SRC_DIR"
        [ -f "$SRC_DIR/mmcv-$MMCV_VERSION.tar.gz" ] || step "downloading the mmcv==$MMCV_VERSION source" \
            "${PIP[@]}" download --no-deps --no-binary :all: --no-build-isolation -d "$SRC_DIR" "mmcv==$MMCV_VERSION"
        rm -rf "$SRC_DIR/mmcv-$MMCV_VERSION" && tar -xzf "$SRC_DIR/mmcv-$MMCV_VERSION.tar.gz" -C "$SRC_DIR"
        sed -i "s/-std=c++17/-std=$MMCV_CXX_STD/g" "$SRC_DIR/mmcv-$MMCV_VERSION/setup.py"
        SOURCE="$SRC_DIR/mmcv-$MMCV_VERSION"
    fi
    if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
        say "building mmcv==$MMCV_VERSION against torch $TORCH_BUILD (about 10-15 minutes on 2 cores, once; kept in $WHEEL_DIR)"
        t0=$(date +%s)
        mkdir -p "$WHEEL_DIR.tmp"
        MAX_JOBS="${MAX_JOBS:-2}" "${PIP[@]}" wheel --no-deps --no-build-isolation --no-cache-dir \
            -w "$WHEEL_DIR.tmp" "$SOURCE" \
            || die "mmcv==$MMCV_VERSION build against torch $TORCH_BUILD failed (needs gcc, Python headers and setuptools<70 in $VENV)"
        rm -rf "$WHEEL_DIR" && mv "$WHEEL_DIR.tmp" "$WHEEL_DIR"
        say "mmcv built after $(( $(date +%s) - t0 )) s"
    fi
    step "installing mmcv==$MMCV_VERSION from $WHEEL_DIR" "${PIP[@]}" install --no-cache-dir \
        "$WHEEL_DIR"/mmcv-*.whl
fi
have "mmdet==$MMDET_VERSION" || step "installing mmdet==$MMDET_VERSION" "${PIP[@]}" install "mmdet==$MMDET_VERSION"
# The editable install again only when setup.py changed (its extras).
STAMP="$VENV/.mmdet_libra_ext-setup.sha256"
SETUP_SHA="$(sha256sum "$ROOT/setup.py" | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$SETUP_SHA" ] || ! "$VENV/bin/python" -c \
        "import mmdet_libra_ext, os, sys; sys.exit(0 if os.path.dirname(os.path.dirname(mmdet_libra_ext.__file__)) == '$ROOT' else 1)" 2>/dev/null; then
    EXTRAS="tests"
    [ "$WITH_DEPLOY" = 1 ] && EXTRAS="tests,deploy"
    step "installing mmdet_libra_ext (editable, with the $EXTRAS extras)" "${PIP[@]}" install --no-build-isolation -e "$ROOT[$EXTRAS]"
    echo "$SETUP_SHA" > "$STAMP"
fi
# mmdeploy 1.3.1 (tools/deployment/export_onnx.py) without its dependency list:
# it pins protobuf<=3.20.2, which current onnx cannot use; the deploy extra
# brings what it imports.
if [ "$WITH_DEPLOY" = 1 ]; then
    have mmdeploy==1.3.1 || step "installing mmdeploy==1.3.1 (--no-deps)" "${PIP[@]}" install --no-deps mmdeploy==1.3.1
fi
# torch's metadata asks for a newer setuptools, which any later pip command
# may pull back in; mmengine and mim need pkg_resources at run time.
"$VENV/bin/python" -c 'import pkg_resources' 2>/dev/null \
    || step "re-pinning setuptools<70 (provides pkg_resources)" "${PIP[@]}" install 'setuptools<70'
step "checking the imports" "$VENV/bin/python" -c \
    'import torch, mmcv, mmdet, mmengine, mmdet_libra_ext; from mmcv.ops import RoIAlign; print("torch", torch.__version__, "mmcv", mmcv.__version__, "mmdet", mmdet.__version__, "mmengine", mmengine.__version__, "mmdet_libra_ext", mmdet_libra_ext.__version__)'
say "done: activate with 'source $VENV/bin/activate'"
}
main "$@"; exit $?
