"""Registry scoping: our modules live in the mmdet_libra_ext scope only."""

import subprocess
import sys

import pytest
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmdet.utils import register_all_modules

import mmdet_libra_ext
from mmdet_libra_ext import registry

OURS = {
    'MODELS': ['BalancedL1Loss', 'FocalLoss', 'BFP'],
    'TASK_UTILS': ['IoUBalancedNegSampler', 'InstanceBalancedPosSampler'],
    'HOOKS': ['WeightsOnlyCheckpointHook'],
    'METRICS': ['CocoProposalMetric'],
}


def test_version():
    assert isinstance(mmdet_libra_ext.__version__, str)
    assert mmdet_libra_ext.__version__.count('.') == 2


def test_child_registries():
    for ours, theirs in (
        (registry.MODELS, MMDET_MODELS),
        (registry.TASK_UTILS, MMDET_TASK_UTILS),
        (registry.HOOKS, MMDET_HOOKS),
        (registry.METRICS, MMDET_METRICS),
    ):
        assert ours.scope == 'mmdet_libra_ext'
        assert ours.parent is theirs
        assert theirs._children['mmdet_libra_ext'] is ours


@pytest.mark.parametrize('reg_name', sorted(OURS))
def test_scoped_names_resolve_from_mmdet(reg_name):
    mmdet_reg = {
        'MODELS': MMDET_MODELS,
        'TASK_UTILS': MMDET_TASK_UTILS,
        'HOOKS': MMDET_HOOKS,
        'METRICS': MMDET_METRICS,
    }[reg_name]
    ours = getattr(registry, reg_name)
    for name in OURS[reg_name]:
        cls = mmdet_reg.get(f'mmdet_libra_ext.{name}')
        assert cls is ours.get(name)
        assert cls.__module__.startswith('mmdet_libra_ext.')


def test_mmdet_builtins_not_shadowed():
    register_all_modules()
    from mmdet.models.losses import BalancedL1Loss, FocalLoss
    from mmdet.models.necks import BFP
    from mmdet.models.task_modules.samplers import (
        InstanceBalancedPosSampler,
        IoUBalancedNegSampler,
    )

    assert MMDET_MODELS.get('BalancedL1Loss') is BalancedL1Loss
    assert MMDET_MODELS.get('FocalLoss') is FocalLoss
    assert MMDET_MODELS.get('BFP') is BFP
    assert (
        MMDET_TASK_UTILS.get('IoUBalancedNegSampler') is IoUBalancedNegSampler
    )
    assert (
        MMDET_TASK_UTILS.get('InstanceBalancedPosSampler')
        is InstanceBalancedPosSampler
    )
    # None of our names was put into MMDetection's own registries.
    for reg_name, names in OURS.items():
        mmdet_reg = {
            'MODELS': MMDET_MODELS,
            'TASK_UTILS': MMDET_TASK_UTILS,
            'HOOKS': MMDET_HOOKS,
            'METRICS': MMDET_METRICS,
        }[reg_name]
        for name in names:
            cls = mmdet_reg._module_dict.get(name)
            assert cls is None or not cls.__module__.startswith(
                'mmdet_libra_ext'
            )


def test_scope_prefix_alone_imports_the_plugin():
    """Without custom_imports, ``mmdet_libra_ext.X`` still resolves:
    mmengine imports ``mmdet_libra_ext.registry`` and its locations."""
    code = (
        'import sys\n'
        'from mmdet.registry import MODELS, TASK_UTILS\n'
        'from mmdet.utils import register_all_modules\n'
        'register_all_modules()\n'
        'assert "mmdet_libra_ext" not in sys.modules\n'
        'loss = MODELS.build(dict(type="mmdet_libra_ext.BalancedL1Loss"))\n'
        'assert type(loss).__module__.startswith("mmdet_libra_ext")\n'
        's = TASK_UTILS.build(dict(type="mmdet_libra_ext.'
        'IoUBalancedNegSampler", num=8, pos_fraction=0.25))\n'
        'assert type(s).__module__.startswith("mmdet_libra_ext")\n'
        'print("ok")\n'
    )
    out = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith('ok')


def test_custom_imports_path():
    from mmengine.config import Config

    cfg = Config(
        dict(
            custom_imports=dict(
                imports=['mmdet_libra_ext'], allow_failed_imports=False
            )
        )
    )
    from mmengine.utils import import_modules_from_strings

    import_modules_from_strings(**cfg.custom_imports)
    loss = MMDET_MODELS.build(
        dict(type='mmdet_libra_ext.FocalLoss', gamma=2.0)
    )
    assert type(loss) is registry.MODELS.get('FocalLoss')
