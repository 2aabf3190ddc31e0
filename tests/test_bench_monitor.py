"""benchmarks/bench_monitor.py runs and reports its ratios with the A/A
control."""

import re

from benchmarks import bench_monitor


def test_bench_monitor_reports_ratios(shapes_root, capsys):
    bench_monitor.main(['--repeats', '2', '--data-root', shapes_root])
    out = capsys.readouterr().out
    ratio = re.search(r'read / plain iteration: ([\d.]+)', out)
    control = re.search(r'A/A: ([\d.]+)', out)
    assert ratio and control
    assert 0.2 < float(ratio.group(1)) < 5
    assert 0.2 < float(control.group(1)) < 5
    assert 'at interval 50:' in out
