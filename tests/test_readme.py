"""Every command the README shows is run by a test (or is the test command
itself), so that the README cannot drift from the code."""

import os
import os.path as osp
import re
import shlex
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
README = open(osp.join(ROOT, 'README.md')).read()


def blocks(lang):
    return re.findall(rf'```{lang}\n(.*?)```', README, flags=re.S)


def commands():
    out = []
    for block in blocks('bash'):
        for line in block.splitlines():
            line = line.split('#')[0].strip()
            if line:
                out.append(line)
    return out


def test_run_tests_sh_is_ci():
    ci = open(osp.join(ROOT, '.ci', 'run')).read()
    assert 'bash tools/run_tests.sh' in ci


def _collected(*args):
    out = subprocess.run(
        [sys.executable, '-m', 'pytest', '--collect-only', '-q', *args]
        + [osp.join('tests', 'test_train_distributed.py')],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    return [ln for ln in out.stdout.splitlines() if '::' in ln]


def test_plain_pytest_is_fast_and_the_test_command_runs_all():
    """A plain pytest leaves the end-to-end trainings out; the README's
    test command (and so CI) selects them too."""
    assert _collected() == []
    script = open(osp.join(ROOT, 'tools', 'run_tests.sh')).read()
    command = re.search(r'^\s*\S+ -m pytest .*$', script, flags=re.M)
    marker = re.search(r'-m "[^"]+"', command.group(0)).group(0)
    everything = _collected(*shlex.split(marker))
    assert len(everything) == 2
    assert _collected('-m', 'slow') == everything


def test_pip_commands_are_the_installers():
    install = open(osp.join(ROOT, 'tools', 'install.sh')).read()
    assert 'install --no-deps mmdeploy==1.3.1' in install
    assert 'EXTRAS="tests,deploy"' in install
    assert '-e "$ROOT[$EXTRAS]"' in install
    import importlib.metadata as metadata

    assert metadata.version('mmdeploy') == '1.3.1'


def test_export_command_is_tested():
    tests = open(osp.join(ROOT, 'tests', 'test_export_onnx.py')).read()
    assert "'--shape'" in tests and "'--out'" in tests


#: README command (its start) -> the test that runs or checks it.
COVERED = {
    'bash tools/run_demo.sh': 'test_run_demo_sh',
    'bash tools/run_tests.sh': 'test_run_tests_sh_is_ci',
    'pip install -e .': 'test_pip_commands_are_the_installers',
    'pip install --no-deps mmdeploy==1.3.1': (
        'test_pip_commands_are_the_installers'
    ),
    'python tools/deployment/export_onnx.py': 'test_export_command_is_tested',
}


def test_every_readme_command_is_covered():
    cmds = commands()
    assert len(cmds) >= 5
    for cmd in cmds:
        assert any(cmd.startswith(k) for k in COVERED), (
            f'README command {cmd!r} is run by no test: add one to COVERED'
        )
    assert set(COVERED.values()) <= set(globals())


def test_config_snippet_builds_a_libra_detector():
    """The README's config snippet, merged into MMDetection's Faster R-CNN
    config, builds a detector with our components."""
    import mmdet
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import mmdet_libra_ext  # noqa: F401

    register_all_modules()
    (snippet,) = [b for b in blocks('python') if 'custom_imports' in b]
    cfg = Config.fromfile(
        osp.join(
            osp.dirname(mmdet.__file__),
            '.mim',
            'configs',
            'faster_rcnn',
            'faster-rcnn_r50_fpn_1x_coco.py',
        )
    )
    cfg.merge_from_dict(Config.fromstring(snippet, '.py').to_dict())
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    assert type(model.neck[1]).__module__.startswith('mmdet_libra_ext.')
    assert type(model.roi_head.bbox_head.loss_bbox).__module__.startswith(
        'mmdet_libra_ext.'
    )
    assert type(model.roi_head.bbox_sampler.neg_sampler).__name__ == (
        'IoUBalancedNegSampler'
    )


@pytest.mark.slow
def test_run_demo_sh(shapes_root, tmp_path):
    """Quick-start command 1, shrunk to two iterations on a small copy of
    the dataset: installs, trains and evaluates with MMDetection's
    tools/train.py, prints the box mAP and writes the report."""
    from tests.tiny import tiny_options

    work = str(tmp_path / 'demo')
    config = 'configs/demo/libra-faster-rcnn_r18_fpn_shapes_demo.py'
    proc = subprocess.run(
        ['bash', 'tools/run_demo.sh', config]
        + tiny_options(shapes_root, epochs=1, val_images=8),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, WORK_DIR=work),
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert '[demo] trained and evaluated in' in log
    assert 'coco/bbox_mAP' in log
    assert osp.isfile(osp.join(work, 'report', 'metrics.md'))
    # What the detector finds, drawn on validation images.
    assert osp.getsize(osp.join(work, 'report', 'detections.png')) > 20000
    assert 'detections on 4 validation images' in log


def test_readme_is_short():
    """A newcomer reads it in five minutes; details live in docs/."""
    assert len(README) <= 9000, len(README)
