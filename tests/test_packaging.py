"""The built wheel ships the package and its configs as package data."""

import glob
import os.path as osp
import subprocess
import sys
import zipfile

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


#: The user commands a wheel ships (under mmdet_libra_ext/.mim/tools).
TOOLS = sorted(
    osp.relpath(p, ROOT)
    for p in glob.glob(osp.join(ROOT, 'tools', '*', '*.py'))
)


def build_wheel(tmp_path):
    """A wheel of this checkout (its working tree's configs and tools);
    its path."""
    import shutil

    src = tmp_path / 'src'
    subprocess.run(['git', 'clone', '-q', ROOT, str(src)], check=True)
    # Include uncommitted configs and tools too: the working tree's.
    for name in ('configs', 'tools', 'setup.py', 'mmdet_libra_ext'):
        dst = src / name
        if dst.is_dir():
            shutil.rmtree(dst)
        copy = (
            shutil.copytree
            if osp.isdir(osp.join(ROOT, name))
            else (shutil.copy)
        )
        kwargs = (
            dict(ignore=shutil.ignore_patterns('__pycache__', '.mim'))
            if copy is shutil.copytree
            else {}
        )
        copy(osp.join(ROOT, name), dst, **kwargs)
    out = subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'wheel',
            str(src),
            '--no-deps',
            '--no-build-isolation',
            '-q',
            '-w',
            str(tmp_path / 'whl'),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return glob.glob(str(tmp_path / 'whl' / '*.whl'))[0]


@pytest.mark.slow
def test_wheel_ships_configs_and_tools(tmp_path):
    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    for tool in TOOLS:
        assert f'mmdet_libra_ext/.mim/{tool}' in names, tool
    assert 'mmdet_libra_ext/.mim/tools/analysis_tools/fit_to_data.py' in names
    configs = sorted(
        glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
    )
    for cfg in configs:
        rel = osp.relpath(cfg, ROOT)
        assert f'mmdet_libra_ext/.mim/{rel}' in names
    assert 'mmdet_libra_ext/registry.py' in names
    assert not any(n.startswith('tests/') for n in names)


def test_version_is_the_changelog_s_latest():
    import re

    import mmdet_libra_ext

    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    text = open(osp.join(root, 'CHANGELOG.md')).read()
    versions = re.findall(r'^## (\d+\.\d+\.\d+)$', text, flags=re.M)
    assert versions and versions[0] == mmdet_libra_ext.__version__
    assert len(set(versions)) == len(versions)


@pytest.mark.slow
def test_mim_runs_the_tools_of_a_wheel_in_a_fresh_environment(tmp_path):
    """The built wheel installed (not editable) into a fresh virtual
    environment that sees this one's dependencies but not this checkout:
    `mim run mmdet_libra_ext <tool>` finds and runs the shipped tools, on
    the shipped configs, from a directory outside the repository."""
    import site
    import sysconfig

    from mmdet_libra_ext.datasets.make_shapes import make_shapes

    wheel = build_wheel(tmp_path)
    env = tmp_path / 'env'
    subprocess.run(
        [sys.executable, '-m', 'venv', '--without-pip', str(env)], check=True
    )
    python = str(env / 'bin' / 'python')
    purelib = subprocess.run(
        [
            python,
            '-c',
            'import sysconfig; print(sysconfig.get_paths()["purelib"])',
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # This environment's packages (torch, mmdet, mim...) after the fresh
    # one's own: a plain path, so the editable install's finder is not
    # loaded and mmdet_libra_ext comes from the wheel.
    ours = sysconfig.get_paths()['purelib']
    with open(osp.join(purelib, 'deps.pth'), 'w') as f:
        f.write('\n'.join([ours] + site.getsitepackages()) + '\n')
    install = subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'install',
            '--no-deps',
            '--no-index',
            '--target',
            purelib,
            wheel,
        ],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    work = tmp_path / 'user'
    make_shapes(str(work / 'data' / 'shapes'), num_train=4, num_val=2, seed=0)

    def mim(*args):
        out = subprocess.run(
            [python, '-m', 'mim', 'run', 'mmdet_libra_ext', *args],
            cwd=str(work),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        return out.stdout + out.stderr

    where = subprocess.run(
        [
            python,
            '-c',
            'import mmdet_libra_ext; print(mmdet_libra_ext.__file__)',
        ],
        cwd=str(work),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(purelib), where
    config = osp.join(
        purelib,
        'mmdet_libra_ext/.mim/configs/demo/faster-rcnn_r18_fpn_shapes_demo.py',
    )
    log = mim(
        'balance_report',
        config,
        '--no-model',
        '--batches',
        '1',
        '--out-dir',
        'report',
    )
    assert '.mim/tools/analysis_tools/balance_report.py' in log
    assert (work / 'report' / 'summary.txt').is_file()
    log = mim('fit_to_data', config, '--out', 'fitted.py')
    assert (work / 'fitted.py').is_file() and 'training images' in log
