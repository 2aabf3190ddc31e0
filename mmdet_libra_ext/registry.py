"""Scoped registries of mmdet_libra_ext.

Every registry here is a child of MMDetection's registry of the same kind, with
scope ``mmdet_libra_ext``. A config names a module of this package as
``type='mmdet_libra_ext.Name'``; MMDetection's registries find it through the
scope prefix (mmengine imports ``mmdet_libra_ext.registry`` on demand and the
``locations`` below on first look-up), with or without
``custom_imports=dict(imports=['mmdet_libra_ext'])``.

Nothing is registered into MMDetection's own registries, so every MMDetection
built-in (``BalancedL1Loss``, ``BFP``, ``IoUBalancedNegSampler``...) keeps its
name and its class.
"""

from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmengine.registry import Registry

SCOPE = 'mmdet_libra_ext'

#: Losses, necks and other ``nn.Module`` components.
MODELS = Registry(
    'model',
    parent=MMDET_MODELS,
    scope=SCOPE,
    locations=['mmdet_libra_ext.models'],
)

#: Samplers and other task utilities.
TASK_UTILS = Registry(
    'task util',
    parent=MMDET_TASK_UTILS,
    scope=SCOPE,
    locations=['mmdet_libra_ext.task_modules'],
)

#: Training hooks.
HOOKS = Registry(
    'hook',
    parent=MMDET_HOOKS,
    scope=SCOPE,
    locations=['mmdet_libra_ext.engine.hooks'],
)

#: Datasets (``ImageFileVOCDataset``; the embedded dataset is plain COCO
#: format).
DATASETS = Registry(
    'dataset',
    parent=MMDET_DATASETS,
    scope=SCOPE,
    locations=['mmdet_libra_ext.datasets'],
)

#: Evaluation metrics.
METRICS = Registry(
    'metric',
    parent=MMDET_METRICS,
    scope=SCOPE,
    locations=['mmdet_libra_ext.evaluation'],
)
