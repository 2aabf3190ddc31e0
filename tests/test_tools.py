"""The command-line tools run and write their figures."""
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _run(args, cwd):
    out = subprocess.run([sys.executable] + args, cwd=cwd,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_plot_balanced_l1(tmp_path):
    out = tmp_path / 'bl1.png'
    _run([osp.join(ROOT, 'tools', 'plot_balanced_l1.py'), '--out',
          str(out)], ROOT)
    assert out.stat().st_size > 10_000


def test_visualize_bfp(tmp_path, shapes_root):
    out = tmp_path / 'bfp.png'
    log = _run([osp.join(ROOT, 'tools', 'visualize_bfp.py'), '--image',
                osp.join(shapes_root, 'val', '000000.png'), '--out',
                str(out)], ROOT)
    assert out.stat().st_size > 10_000
    lines = [ln for ln in log.splitlines() if ln.startswith('level')]
    assert len(lines) == 5
    # BFP adds the integrated features to every level: energy changes.
    for ln in lines:
        before = float(ln.split('before ')[1].split(',')[0])
        after = float(ln.split('after ')[1])
        assert before != after


def test_analyze_sampling(tmp_path, shapes_root):
    out = tmp_path / 'samp.png'
    log = _run([osp.join(ROOT, 'tools', 'analyze_sampling.py'), '--batches',
                '2', '--data-root', shapes_root, '--out', str(out)], ROOT)
    assert out.stat().st_size > 10_000
    share = {}
    for ln in log.splitlines():
        cells = [c.strip() for c in ln.strip('|').split('|')]
        if len(cells) == 4 and cells[2].endswith('%'):
            share[cells[0]] = float(cells[2][:-1])
    # IoU-balanced sampling takes many more hard negatives than random.
    assert share['IoU-balanced (ours)'] > share['random'] + 15
