#!/usr/bin/env bash
# Idempotent installer for mmdet_libra_ext on a machine with only Python 3.11.
# Creates .venv in the repository root with the pinned CPU toolchain:
#   torch==2.13.0, mmengine==0.10.7, mmcv==2.1.0 (compiled), mmdet==3.3.0,
# then installs this package in editable mode with its test and deploy
# (onnx, onnxruntime, onnxscript, mmdeploy's imports) extras and
# mmdeploy==1.3.1 without its dependency pins.
# Usage: bash tools/install.sh            (PYTHON=python3.11 to pick the interpreter)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

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

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 8) else 1)' \
    || die "$PYTHON is too old; mmdet_libra_ext needs Python >= 3.8 (3.11 tested)"

if [ ! -x "$VENV/bin/python" ]; then
    step "creating virtual environment at $VENV" "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

have torch==2.13.0 || step "installing torch==2.13.0 (CPU wheel)" "${PIP[@]}" install torch==2.13.0
# mmcv's setup.py and mmengine's 'mmdet::' config resolution both import pkg_resources.
"$VENV/bin/python" -c 'import pkg_resources' 2>/dev/null \
    || step "installing setuptools<70 (provides pkg_resources)" "${PIP[@]}" install 'setuptools<70' wheel
have mmengine==0.10.7 || step "installing mmengine==0.10.7" "${PIP[@]}" install mmengine==0.10.7 'numpy' 'opencv-python-headless'
if ! have mmcv==2.1.0; then
    say "building mmcv==2.1.0 from source (about 15 minutes on 2 cores the first time; cached as a wheel afterwards)"
    t0=$(date +%s)
    MAX_JOBS="${MAX_JOBS:-2}" "${PIP[@]}" install --no-build-isolation mmcv==2.1.0 \
        || die "mmcv==2.1.0 build failed (needs gcc, Python headers and setuptools<70 in $VENV)"
    say "mmcv ready after $(( $(date +%s) - t0 )) s"
fi
have mmdet==3.3.0 || step "installing mmdet==3.3.0" "${PIP[@]}" install mmdet==3.3.0
# The editable install again only when setup.py changed (its extras).
STAMP="$VENV/.mmdet_libra_ext-setup.sha256"
SETUP_SHA="$(sha256sum "$ROOT/setup.py" | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$SETUP_SHA" ] || ! "$VENV/bin/python" -c \
        "import mmdet_libra_ext, os, sys; sys.exit(0 if os.path.dirname(os.path.dirname(mmdet_libra_ext.__file__)) == '$ROOT' else 1)" 2>/dev/null; then
    step "installing mmdet_libra_ext (editable, with test and deploy extras)" "${PIP[@]}" install --no-build-isolation -e "$ROOT[tests,deploy]"
    echo "$SETUP_SHA" > "$STAMP"
fi
# mmdeploy 1.3.1 (tools/deploy/export_onnx.py) without its dependency list:
# it pins protobuf<=3.20.2, which current onnx cannot use; the deploy extra
# brings what it imports.
have mmdeploy==1.3.1 || step "installing mmdeploy==1.3.1 (--no-deps)" "${PIP[@]}" install --no-deps mmdeploy==1.3.1
# torch's metadata asks for a newer setuptools, which any later pip command
# may pull back in; mmengine and mim need pkg_resources at run time.
"$VENV/bin/python" -c 'import pkg_resources' 2>/dev/null \
    || step "re-pinning setuptools<70 (provides pkg_resources)" "${PIP[@]}" install 'setuptools<70'
step "checking the imports" "$VENV/bin/python" -c \
    'import torch, mmcv, mmdet, mmengine, mmdet_libra_ext; from mmcv.ops import RoIAlign; print("torch", torch.__version__, "mmcv", mmcv.__version__, "mmdet", mmdet.__version__, "mmengine", mmengine.__version__, "mmdet_libra_ext", mmdet_libra_ext.__version__)'
say "done: activate with 'source $VENV/bin/activate'"
