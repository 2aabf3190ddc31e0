"""The figure and sampling tools run and write their figures."""

import os.path as osp
import re

from tests.tool_runs import ROOT, run_tool  # noqa: E402


def test_plot_balanced_l1(tmp_path):
    out = tmp_path / 'bl1.png'
    run_tool(
        [
            osp.join(ROOT, 'tools', 'analysis_tools', 'plot_balanced_l1.py'),
            '--out',
            str(out),
        ],
        ROOT,
    )
    assert out.stat().st_size > 10_000


def test_visualize_bfp(tmp_path, shapes_root):
    out = tmp_path / 'bfp.png'
    log = run_tool(
        [
            osp.join(ROOT, 'tools', 'analysis_tools', 'visualize_bfp.py'),
            '--image',
            osp.join(shapes_root, 'val', '000000.png'),
            '--out',
            str(out),
        ],
        ROOT,
    )
    assert out.stat().st_size > 10_000
    lines = [ln for ln in log.splitlines() if ln.startswith('level')]
    assert len(lines) == 5
    # BFP adds the integrated features to every level: energy changes.
    for ln in lines:
        before = float(ln.split('before ')[1].split(',')[0])
        after = float(ln.split('after ')[1])
        assert before != after


def _shares(log):
    """Each row's (IoU = 0, IoU > 0.05) shares in percent."""
    share = {}
    for ln in log.splitlines():
        cells = [c.strip() for c in ln.strip('|').split('|')]
        if len(cells) == 5 and cells[3].endswith('%'):
            share[cells[0]] = (float(cells[2][:-1]), float(cells[3][:-1]))
    return share


def _analyze_sampling(tmp_path, shapes_root, *args):
    """Run tools/analysis_tools/analyze_sampling.py on two batches; its log."""
    out = tmp_path / 'sampling.png'
    log = run_tool(
        [
            osp.join(ROOT, 'tools', 'analysis_tools', 'analyze_sampling.py'),
            *args,
        ]
        + ['--batches', '2', '--data-root', shapes_root, '--out', str(out)],
        ROOT,
    )
    assert out.stat().st_size > 10_000
    return log


def test_analyze_sampling(tmp_path, shapes_root):
    share = _shares(_analyze_sampling(tmp_path, shapes_root))
    # IoU-balanced sampling takes many more hard negatives than random.
    assert share['IoU-balanced (ours)'][1] > share['random'][1] + 15


def test_analyze_sampling_rpn_anchors(tmp_path, shapes_root):
    log = _analyze_sampling(tmp_path, shapes_root, '--rpn')
    share = _shares(log)
    # The demo's ~16k anchors per image, 8 images, most of them at IoU 0.
    assert share['all candidates'][0] > 50
    assert share['random'][0] > 50
    # The balanced samplers take negatives that overlap a ground truth;
    # bins over the negatives' own range take the hardest.
    assert share['IoU-balanced (ours)'][0] == 0
    assert (
        share["IoU-balanced (ours, bin_range='negatives')"][1]
        > share['IoU-balanced (ours)'][1] + 10
    )
    # floor_fraction=0.5 takes half of them from the zero-IoU background.
    floor = "IoU-balanced (ours, bin_range='negatives', floor_fraction=0.5)"
    assert 45 < share[floor][0] < 55
    assert re.search(
        r'all negatives in the first of 3 bins: \d+ of 8 '
        r'images',
        log,
    )


def test_compare_samplers(shapes_root):
    log = run_tool(
        [
            osp.join(ROOT, 'tools', 'analysis_tools', 'compare_samplers.py'),
            '--batches',
            '1',
            '--draws',
            '8',
            '--data-root',
            shapes_root,
        ],
        ROOT,
    )
    rows = {
        ln.split('|')[1].strip(): ln
        for ln in log.splitlines()
        if ln.startswith('| ours') or ln.startswith('| mmdet')
    }
    assert sorted(rows) == ['mmdet', 'ours']
    for ln in rows.values():
        assert ln.count('±') == 9
    assert 'largest per-proposal difference' in log
