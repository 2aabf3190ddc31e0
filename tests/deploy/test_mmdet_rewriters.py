"""Importing the package leaves MMDetection's own modules' export alone:
the rewriters of BFP, RPNHead and BBoxHead come on only by the config key
or the call, and say so in the log. Each case in a fresh interpreter (the
other deploy tests switch them on in theirs)."""

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip('mmdeploy')

OURS = textwrap.dedent(
    """
    from mmdeploy.core import FUNCTION_REWRITER

    def ours():
        records = FUNCTION_REWRITER._registry._rewrite_records
        return sorted(
            name
            for name, recs in records.items()
            for rec in recs
            if rec['_object'].__module__.startswith('mmdet_libra_ext')
        )
    """
)
REWRITTEN = [
    'mmdet.models.dense_heads.rpn_head.RPNHead.predict_by_feat',
    'mmdet.models.necks.BFP.forward',
    'mmdet.models.roi_heads.bbox_heads.bbox_head.BBoxHead.predict_by_feat',
]


def _run(code, tmp_path):
    out = subprocess.run(
        [sys.executable, '-c', OURS + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=str(tmp_path),
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout + out.stderr


def test_import_registers_none_the_call_registers_them(tmp_path):
    log = _run(
        """
        import mmdet_libra_ext
        import mmdet_libra_ext.deploy
        print('after import', ours())
        mmdet_libra_ext.deploy.enable_mmdet_rewriters()
        print('after the call', ours())
        """,
        tmp_path,
    )
    assert 'after import []' in log
    assert f'after the call {REWRITTEN}' in log
    assert 'mmdeploy rewriters switched on for mmdet.models.necks.BFP' in log


def test_the_config_key_switches_them_on(tmp_path):
    (tmp_path / 'cfg.py').write_text(
        "custom_imports = dict(imports=['mmdet_libra_ext', "
        "'mmdet_libra_ext.deploy.mmdet_rewriters'])\n"
    )
    (tmp_path / 'plain.py').write_text(
        "custom_imports = dict(imports=['mmdet_libra_ext'])\n"
    )
    log = _run(
        """
        from mmengine.config import Config
        Config.fromfile('plain.py')
        print('plain', ours())
        Config.fromfile('cfg.py')
        print('with the key', ours())
        """,
        tmp_path,
    )
    assert 'plain []' in log
    assert f'with the key {REWRITTEN}' in log
