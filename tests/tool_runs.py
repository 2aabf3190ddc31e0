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


def run_main(main, args):
    """A tool's ``main(args)`` in this process: for its commands that start
    no training and no evaluation (tables, comparisons, runs already
    recorded), where a new interpreter would spend seconds importing
    MMDetection. Its stdout, as :func:`run_tool` gives it; the working
    directory restored (the lab's tools change to the repository)."""
    import contextlib
    import io
    import os

    cwd, out = os.getcwd(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            main(args)
    finally:
        os.chdir(cwd)
    return out.getvalue()


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


def train(mmdet_tools, config, work, options, resume=None, env=None):
    """MMDetection's tools/train.py on ``config`` into ``work`` with
    ``options`` (``--cfg-options ...``), resuming from ``resume``; its
    output."""
    cmd = [
        sys.executable,
        osp.join(mmdet_tools, 'train.py'),
        config,
        '--work-dir',
        work,
    ]
    if resume:
        cmd += ['--resume', resume]
    out = subprocess.run(
        cmd + options,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


def two_ranks(config, data_root, work, resume=None):
    """tests/dist_train_worker.py: two gloo ranks train ``config``; each
    rank's records, read from ``work/rank{r}.json``."""
    import json

    cmd = [
        sys.executable,
        osp.join(ROOT, 'tests', 'dist_train_worker.py'),
        config,
        data_root,
        work,
    ]
    out = subprocess.run(
        cmd + ([resume] if resume else []),
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return [json.load(open(osp.join(work, f'rank{r}.json'))) for r in (0, 1)]
