"""Run a command-line tool of this repository as a user does."""

import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_tool(args, cwd=ROOT):
    """Run ``python ARGS`` in ``cwd``; its stdout (stderr on failure)."""
    out = subprocess.run(
        [sys.executable] + args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def load_tool(relpath):
    """A command-line script of this repository (``tools/...``,
    ``.dev_scripts/...``: not packages) as a module, from its file."""
    import importlib.util

    path = osp.join(ROOT, relpath)
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], path
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
