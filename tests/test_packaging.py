"""The built wheel ships the package and its configs as package data."""

import glob
import os.path as osp
import subprocess
import sys
import zipfile

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.mark.slow
def test_wheel_ships_configs(tmp_path):
    src = tmp_path / 'src'
    subprocess.run(['git', 'clone', '-q', ROOT, str(src)], check=True)
    # Include uncommitted configs too: copy the working tree's configs/.
    import shutil

    shutil.rmtree(src / 'configs')
    shutil.copytree(osp.join(ROOT, 'configs'), src / 'configs')
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
    wheel = glob.glob(str(tmp_path / 'whl' / '*.whl'))[0]
    names = zipfile.ZipFile(wheel).namelist()
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
