""".dev_scripts/stacks.sh (the compatibility matrix) and what setup.py
claims from its results in docs/compatibility.md."""

import os.path as osp
import re
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOL = osp.join(ROOT, '.dev_scripts', 'stacks.sh')
PACKAGES = ('python', 'torch', 'mmcv', 'mmengine', 'mmdet', 'numpy')


def run(*args, timeout=300):
    return subprocess.run(
        ['bash', TOOL, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stacks():
    """{name: {package: version}} from the tool's own table."""
    text = open(TOOL).read()
    table = re.search(r'STACKS="\\\n(.*?)"', text, flags=re.S).group(1)
    out = {}
    for line in table.strip().splitlines():
        name, *versions = line.split('|')
        numpy = versions[5].partition('==')[2] or None
        out[name] = dict(zip(PACKAGES, versions[:5] + [numpy]))
    return out


def matrix():
    """{stack: {check: result}} from docs/compatibility.md's table."""
    text = open(osp.join(ROOT, 'docs', 'compatibility.md')).read()
    rows = re.findall(r'^\| `(\w+)` \|(.*)\|$', text, flags=re.M)
    header = re.search(r'^\| stack \|(.*)\|$', text, flags=re.M).group(1)
    checks = [c.strip() for c in header.split('|')][len(PACKAGES) :]
    out = {}
    for name, cells in rows:
        values = [c.strip() for c in cells.split('|')][len(PACKAGES) :]
        out[name] = dict(zip(checks, values))
    return out


def test_list_names_every_stack_with_its_versions():
    proc = run('list')
    assert proc.returncode == 0, proc.stderr
    for name, versions in stacks().items():
        line = next(
            ln for ln in proc.stdout.splitlines() if ln.startswith(name + ' ')
        )
        assert versions['torch'] in line and versions['mmdet'] in line
    assert set(stacks()) >= {'pinned', 'common', 'oldest', 'newest'}


@pytest.mark.parametrize(
    'args,message',
    [
        (['nosuch'], "unknown stack 'nosuch'"),
        (['pinned', 'nosuch'], "unknown check 'nosuch'"),
    ],
)
def test_unknown_names_refused(args, message):
    proc = run(*args)
    assert proc.returncode == 2
    assert message in proc.stderr


@pytest.mark.skipif(
    osp.realpath(sys.prefix) != osp.realpath(osp.join(ROOT, '.venv')),
    reason='runs the pinned stack, i.e. the suite must run in .venv',
)
def test_pinned_stack_import_check():
    """The check a user runs first, on the stack this suite runs on: one
    line, 'ok', and the versions it found."""
    import mmdet
    import torch

    proc = run('pinned', 'import')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert re.match(
        r'pinned +build +ok +python [\d.]+ torch '
        + re.escape(torch.__version__),
        lines[0],
    )
    assert f'mmdet {mmdet.__version__}' in lines[0]
    assert re.match(r'pinned +import +ok +FasterRCNN with .*BFP', lines[1]), (
        lines
    )


def _lower_bounds():
    """{package: (lower bound, upper bound)} of setup.py's
    install_requires."""
    text = open(osp.join(ROOT, 'setup.py')).read()
    reqs = re.search(r'install_requires=\[(.*?)\]', text, flags=re.S).group(1)
    out = {}
    for req in re.findall(r"'([^']+)'", reqs):
        name = re.match(r'[\w-]+', req).group(0)
        low = re.search(r'>=([\w.]+)', req)
        high = re.search(r'<([\w.]+)', req)
        out[name] = (low and low.group(1), high and high.group(1))
    return out


def _key(version):
    return tuple(int(p) for p in re.findall(r'\d+', version)[:3])


def test_setup_py_claims_exactly_the_tested_range():
    """Lower bounds: the lowest version of each package among the stacks
    that passed every check in docs/compatibility.md; a stack that failed is
    outside the claimed range (an upper bound excludes it)."""
    results = matrix()
    table = stacks()
    assert set(results) == set(table), 'a stack of the tool is not in the doc'
    passed = [
        s
        for s, r in results.items()
        if all(v.startswith('ok') for v in r.values())
    ]
    assert 'pinned' in passed and 'common' in passed
    bounds = _lower_bounds()
    text = open(osp.join(ROOT, 'setup.py')).read()
    python = re.search(r"python_requires='>=([\d.]+),<([\d.]+)'", text)
    tested = sorted({table[s]['python'] for s in passed}, key=_key)
    # From the oldest Python that passed to the newest (no untested one).
    assert python.group(1) == tested[0]
    newest = _key(tested[-1])
    assert _key(python.group(2)) == (newest[0], newest[1] + 1)
    for package in PACKAGES[1:]:
        lowest = min(
            (table[s][package] for s in passed if table[s][package]), key=_key
        )
        assert bounds[package][0] == lowest, (package, bounds[package], lowest)
    for name in set(results) - set(passed):
        outside = [
            p
            for p in PACKAGES[1:]
            if table[name][p]
            and (
                _key(table[name][p]) < _key(bounds[p][0])
                or (
                    bounds[p][1] and _key(table[name][p]) >= _key(bounds[p][1])
                )
            )
        ]
        assert outside, (
            f'stack {name} failed but lies inside the claimed range'
        )
