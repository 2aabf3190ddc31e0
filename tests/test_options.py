"""Every registered module refuses a misspelled option and a bad number.

Generated from the package's registries: a module registered later without
an entry in :data:`SPECS` fails
:func:`test_every_registered_module_has_a_spec`, and one that swallows an
unknown option fails the misspelling tests. Each module is built the way a
config builds it, through MMDetection's registry (samplers also inside
MMDetection's ``CombinedSampler``, hooks through the
runner's ``custom_hooks`` path).
"""

import inspect
import re
from typing import Any, Dict, List, NamedTuple

import pytest
import torch
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import mmdet_libra_ext  # noqa: F401 (registers every module)
from mmdet_libra_ext import registry


class _TestStepModel(BaseModel):
    """The smallest model a TTA model wraps (it needs ``test_step``)."""

    def forward(self, *args: Any, **kwargs: Any) -> None:
        return None


class Spec(NamedTuple):
    """A valid config and, per numeric option, values it must refuse.

    ``bad`` keys are option names (``'tta_cfg.iou_thr'`` for a key of a dict
    option); NaN and +-inf are added to every scalar option's list.
    """

    valid: Dict[str, Any]
    bad: Dict[str, List[Any]]


#: Options a sampler shares, with values MMDetection's samplers would take
#: silently and this package refuses.
_SAMPLER_BAD: Dict[str, List[Any]] = dict(
    num=[0, -4, 2.5], pos_fraction=[-0.1, 1.5], neg_pos_ub=[-2]
)

SPECS: Dict[str, Dict[str, Spec]] = {
    'MODELS': {
        'BalancedL1Loss': Spec(
            dict(alpha=0.5, gamma=1.5, beta=1.0, loss_weight=1.0),
            dict(alpha=[0, -1], gamma=[0, -1.5], beta=[0, -1], loss_weight=[]),
        ),
        'FocalLoss': Spec(
            dict(gamma=2.0, alpha=0.25, loss_weight=1.0, activated=False),
            dict(gamma=[-1], alpha=[-0.25, 1.25], loss_weight=[]),
        ),
        'BFP': Spec(
            dict(
                in_channels=8,
                num_levels=3,
                refine_level=1,
                refine_type='non_local',
            ),
            dict(
                in_channels=[0, -8, 8.0],
                num_levels=[1, 3.0],
                refine_level=[-1, 3, 1.5],
            ),
        ),
        'WBFTTAModel': Spec(
            dict(
                module=_TestStepModel(),
                tta_cfg=dict(iou_thr=0.55, skip_box_thr=0.0, max_per_img=10),
            ),
            {
                'tta_cfg.iou_thr': [-0.1, 1.0],
                'tta_cfg.skip_box_thr': [-0.1, 1.0],
                'tta_cfg.max_per_img': [0, 2.5],
            },
        ),
    },
    'TASK_UTILS': {
        'IoUBalancedNegSampler': Spec(
            dict(
                num=8,
                pos_fraction=0.25,
                floor_thr=-1,
                floor_fraction=0,
                num_bins=3,
            ),
            dict(
                _SAMPLER_BAD,
                floor_thr=[1.0, -0.5],
                floor_fraction=[-0.1, 1.5],
                num_bins=[0, 2.5],
            ),
        ),
        'InstanceBalancedPosSampler': Spec(
            dict(num=8, pos_fraction=0.25), dict(_SAMPLER_BAD)
        ),
    },
    'HOOKS': {
        'ALWAHook': Spec(
            dict(interval=10, warmup_iters=0, min_weight=0.01),
            dict(
                interval=[1, 0, 10.0],
                warmup_iters=[-1, 1.5],
                ema_momentum=[0, 1, -0.5],
                min_weight=[1, -0.1],
                weight_bounds=[
                    (0, 1),
                    (0.5, 0.2),
                    (0.1, 1.5),
                    (float('nan'), 1.0),
                    (0.1, float('inf')),
                ],
            ),
        ),
        'AtomicCheckpointHook': Spec(
            dict(interval=1, max_keep_ckpts=2),
            dict(interval=[1.5], max_keep_ckpts=[2.0], save_begin=[-1, 0.5]),
        ),
        'BalanceMonitorHook': Spec(
            dict(interval=5, hard_iou=0.1),
            dict(interval=[0, -1, 2.5], hard_iou=[-0.1, 1, 1.5]),
        ),
        'ResumableRandomnessHook': Spec({}, {}),
        'WeightsOnlyCheckpointHook': Spec({}, {}),
    },
    'METRICS': {
        'ClasswiseVOCMetric': Spec(dict(iou_thrs=0.5, eval_mode='area'), {}),
        'CocoProposalMetric': Spec(dict(metric='proposal_fast'), {}),
        'GTInstancesCocoMetric': Spec(dict(metric='bbox'), {}),
    },
    'DATASETS': {
        # MMDetection's VOCDataset's options (lazy_init: no file is read).
        'ImageFileVOCDataset': Spec(
            dict(
                data_root='data/my_dataset/',
                ann_file='ImageSets/Main/train.txt',
                data_prefix=dict(sub_data_root=''),
                lazy_init=True,
            ),
            {},
        ),
    },
}

#: Registered names that only refuse to be built, saying how to carry on
#: (a former component's configs get that message, not "not registered").
RETIRED = {('HOOKS', 'AdaptToDataHook'): 'fit_to_data.py CONFIG'}

#: A config's ``fit_to_data`` options (tools/analysis_tools/fit_to_data.py),
#: checked as a module's options are.
FIT_OPTIONS = Spec(
    dict(smallest=16, largest=256),
    dict(
        smallest=[0, -1, 300],
        largest=[0, 8],
        max_long_side=[0, -5],
        bpr_thr=[0, 1.5],
        bpr_target=[0, 2],
        resize=['per_image', 'Factor', ''],
    ),
)

MMDET_REGISTRIES = dict(
    MODELS=MMDET_MODELS,
    TASK_UTILS=MMDET_TASK_UTILS,
    HOOKS=MMDET_HOOKS,
    METRICS=MMDET_METRICS,
    DATASETS=MMDET_DATASETS,
)

REGISTERED = [
    (reg_name, name)
    for reg_name in sorted(MMDET_REGISTRIES)
    for name in sorted(getattr(registry, reg_name).module_dict)
]
SPECCED = [
    (reg_name, name)
    for reg_name, specs in sorted(SPECS.items())
    for name in sorted(specs)
]


def build(reg_name: str, name: str, cfg: Dict[str, Any]) -> Any:
    """Build ``mmdet_libra_ext.<name>`` as a config does (MMDetection's
    configs set ``default_scope='mmdet'``)."""
    full = dict(type=f'mmdet_libra_ext.{name}', **cfg)
    with DefaultScope.overwrite_default_scope('mmdet'):
        if reg_name == 'HOOKS':
            # The runner's custom_hooks path (Runner.register_custom_hooks).
            runner = Runner.__new__(Runner)
            runner._hooks = []
            runner.register_custom_hooks([full])
            (hook,) = runner._hooks
            return hook
        return MMDET_REGISTRIES[reg_name].build(full)


def build_combined(sampler: Dict[str, Any], side: str) -> Any:
    """A sampler as ``CombinedSampler``'s pos or neg sampler, the way a head
    builds it (``default_args=dict(context=head)``)."""
    other = dict(type='RandomSampler')
    cfg = dict(
        type='CombinedSampler',
        num=8,
        pos_fraction=0.25,
        neg_pos_ub=-1,
        add_gt_as_proposals=True,
        pos_sampler=sampler if side == 'pos' else other,
        neg_sampler=sampler if side == 'neg' else other,
    )
    return MMDET_TASK_UTILS.build(cfg, default_args=dict(context=object()))


def misspell(key: str) -> str:
    """``key`` with its middle letter dropped (``floor_fraction`` ->
    ``floor_faction``); a short key gets a letter doubled."""
    if len(key) < 4:
        return key + key[-1]
    mid = len(key) // 2
    return key[:mid] + key[mid + 1 :]


def with_option(cfg: Dict[str, Any], key: str, value: Any) -> Dict[str, Any]:
    """A copy of ``cfg`` with ``key`` (``'a.b'``: key ``b`` of dict ``a``)
    set to ``value``."""
    out = dict(cfg)
    if '.' in key:
        outer, inner = key.split('.', 1)
        out[outer] = dict(out.get(outer) or {}, **{inner: value})
    else:
        out[key] = value
    return out


def numeric_options(cls: type) -> List[str]:
    """The named options typed or defaulting to a number in the package's
    own ``__init__`` signatures along the class's MRO."""
    names: List[str] = []
    for klass in cls.__mro__:
        if not klass.__module__.startswith('mmdet_libra_ext'):
            continue
        if '__init__' not in vars(klass):
            continue
        for p in inspect.signature(klass.__init__).parameters.values():
            if p.name == 'self' or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            ann = str(p.annotation)
            default = p.default
            numeric_default = isinstance(default, (int, float)) and not (
                isinstance(default, bool)
            )
            if numeric_default or re.search(r'\b(int|float)\b', ann):
                if p.name not in names:
                    names.append(p.name)
    return names


def test_every_registered_module_has_a_spec():
    """A module registered without a spec (and so without the checks below)
    fails here; so does a spec of a module that is not registered."""
    assert REGISTERED, 'no module registered'
    assert sorted(REGISTERED) == sorted(SPECCED + list(RETIRED))


@pytest.mark.parametrize('reg_name,name', sorted(RETIRED))
def test_a_retired_module_refuses_saying_what_to_run(reg_name, name):
    with pytest.raises(RuntimeError, match=RETIRED[(reg_name, name)]):
        build(reg_name, name, dict(smallest=16))


def _fit_option_cases():
    for key, values in FIT_OPTIONS.bad.items():
        extremes = [float('nan'), float('inf'), -float('inf')]
        for value in values + extremes:
            yield pytest.param(key, value, id=f'{key}={value!r}')


@pytest.mark.parametrize('key,value', list(_fit_option_cases()))
def test_a_bad_fit_to_data_option_is_refused_naming_it(key, value):
    from mmengine.config import Config

    from mmdet_libra_ext.analysis.fit_to_data import DEFAULTS, fit_options

    cfg = Config(dict(fit_to_data=dict(FIT_OPTIONS.valid, **{key: value})))
    with pytest.raises((TypeError, ValueError)) as info:
        fit_options(cfg)
    assert key in str(info.value) and str(value) in str(info.value)
    # Every option but the switches has bad values listed.
    numeric = {k for k, v in DEFAULTS.items() if not isinstance(v, bool)}
    assert numeric == set(FIT_OPTIONS.bad)


def test_registries_cover_the_package():
    """Every registry of the package is swept (a new one must be added to
    MMDET_REGISTRIES)."""
    from mmengine.registry import Registry

    ours = {
        name
        for name, value in vars(registry).items()
        if isinstance(value, Registry) and value.scope == registry.SCOPE
    }
    assert ours == set(MMDET_REGISTRIES)


@pytest.mark.parametrize('reg_name,name', SPECCED)
def test_valid_config_builds(reg_name, name):
    obj = build(reg_name, name, SPECS[reg_name][name].valid)
    assert type(obj) is getattr(registry, reg_name).get(name)


def _keys_to_misspell(spec: Spec) -> List[str]:
    keys = list(spec.valid)
    for key in spec.bad:
        if '.' in key:
            keys.append(key)
    return keys


def _misspelled_key_cases():
    for reg_name, name in SPECCED:
        spec = SPECS[reg_name][name]
        for key in _keys_to_misspell(spec) + ['no_such_option']:
            yield pytest.param(reg_name, name, key, id=f'{name}-{key}')


@pytest.mark.parametrize('reg_name,name,key', list(_misspelled_key_cases()))
def test_misspelled_option_is_refused_naming_it(reg_name, name, key):
    spec = SPECS[reg_name][name]
    if key == 'no_such_option':
        bad_key, cfg = key, dict(spec.valid, no_such_option=1)
    elif '.' in key:
        outer, inner = key.split('.', 1)
        bad_key = misspell(inner)
        cfg = dict(spec.valid)
        inner_cfg = dict(cfg[outer])
        inner_cfg[bad_key] = inner_cfg.pop(inner)
        cfg[outer] = inner_cfg
    else:
        bad_key = misspell(key)
        cfg = dict(spec.valid)
        cfg[bad_key] = cfg.pop(key)
    with pytest.raises((TypeError, ValueError)) as info:
        build(reg_name, name, cfg)
    assert bad_key in str(info.value), str(info.value)


def _numeric_cases():
    for reg_name, name in SPECCED:
        spec = SPECS[reg_name][name]
        for key, values in spec.bad.items():
            scalar = not any(isinstance(v, tuple) for v in values)
            extra = (
                [float('nan'), float('inf'), -float('inf')] if scalar else []
            )
            for value in list(values) + extra:
                yield pytest.param(
                    reg_name, name, key, value, id=f'{name}-{key}={value!r}'
                )


@pytest.mark.parametrize('reg_name,name,key,value', list(_numeric_cases()))
def test_bad_number_is_refused_naming_option_and_value(
    reg_name, name, key, value
):
    spec = SPECS[reg_name][name]
    cfg = with_option(spec.valid, key, value)
    with pytest.raises((TypeError, ValueError)) as info:
        build(reg_name, name, cfg)
    msg = str(info.value)
    assert key.split('.')[-1] in msg, msg
    assert repr(value) in msg or str(value) in msg, msg


@pytest.mark.parametrize('reg_name,name', SPECCED)
def test_every_numeric_option_has_bad_values(reg_name, name):
    """A numeric option added to a signature must come with values it
    refuses (an option any finite number suits lists none: the non-finite
    ones are still tried)."""
    cls = getattr(registry, reg_name).get(name)
    declared = {k.split('.')[0] for k in SPECS[reg_name][name].bad}
    missing = [k for k in numeric_options(cls) if k not in declared]
    assert not missing, f'{name}: no bad values listed for {missing}'


# ----------------------------------------------------------- samplers --------

SAMPLERS = sorted(SPECS['TASK_UTILS'])


@pytest.mark.parametrize('name', SAMPLERS)
@pytest.mark.parametrize('side', ['pos', 'neg'])
def test_sampler_inside_combined_sampler(name, side):
    """``CombinedSampler`` hands its sub-samplers its own arguments and the
    head's ``context``: accepted; a misspelled option is refused there too,
    with the close match suggested."""
    sampler = dict(type=f'mmdet_libra_ext.{name}')
    combined = build_combined(sampler, side)
    sub = getattr(combined, f'{side}_sampler')
    assert type(sub) is registry.TASK_UTILS.get(name)
    assert sub.num == 8 and sub.pos_fraction == 0.25
    with pytest.raises(TypeError, match="'neg_pos_uub'.*'neg_pos_ub'"):
        build_combined(dict(sampler, neg_pos_uub=3), side)


def test_issue_config_fails_naming_the_typo():
    """The misspelled Libra sampling of the issue: refused at build time,
    naming ``floor_fracton`` and suggesting ``floor_fraction``."""
    cfg = dict(
        type='CombinedSampler',
        num=512,
        pos_fraction=0.25,
        add_gt_as_proposals=True,
        pos_sampler=dict(type='mmdet_libra_ext.InstanceBalancedPosSampler'),
        neg_sampler=dict(
            type='mmdet_libra_ext.IoUBalancedNegSampler', floor_fracton=0.5
        ),
    )
    with pytest.raises(TypeError) as info:
        MMDET_TASK_UTILS.build(cfg, default_args=dict(context=None))
    msg = str(info.value)
    assert "'floor_fracton'" in msg
    assert "did you mean 'floor_fraction'" in msg
    assert 'IoUBalancedNegSampler' in msg


def test_sampler_built_by_a_head_gets_context():
    """MMDetection's heads build a sampler with ``context=self``."""
    s = MMDET_TASK_UTILS.build(
        dict(
            type='mmdet_libra_ext.IoUBalancedNegSampler',
            num=8,
            pos_fraction=0.5,
        ),
        default_args=dict(context=torch.nn.Identity()),
    )
    assert s.num == 8


def test_atomic_checkpoint_hook_knows_this_mmengine_options():
    """Every named option of this mmengine's CheckpointHook is accepted."""
    from mmengine.hooks import CheckpointHook

    from mmdet_libra_ext.engine.hooks.atomic_checkpoint_hook import (
        checkpoint_hook_options,
    )

    names = set(inspect.signature(CheckpointHook.__init__).parameters)
    names -= {'self', 'kwargs'}
    assert names <= checkpoint_hook_options()
