"""A run's config with :class:`~mmdet_libra_ext.engine.hooks.AdaptToDataHook`'s
choices written in, for what builds a model from a config and a checkpoint
without MMDetection's runner (``init_detector``, the analysis and export
tools): the hook only runs inside ``tools/train.py`` and ``tools/test.py``,
so without this they would see the config's own input scale and anchors,
not the ones the checkpoint was trained with."""

import copy
import json
import os.path as osp
from typing import Any, Dict, Optional

import torch

#: The checkpoint key and the work dir's file the hook keeps its choices in.
CHECKPOINT_KEY = 'adapt_to_data'
CHOICES_FILE = 'adapt_to_data.json'


def saved_choices(checkpoint: str) -> Optional[Dict[str, Any]]:
    """The hook's choices stored in ``checkpoint`` (loaded weights-only), or
    else in the ``adapt_to_data.json`` beside it; None for a run without
    the hook."""
    try:
        ckpt = torch.load(checkpoint, map_location='cpu', weights_only=True)
    except Exception:  # not weights-only loadable: the file beside it
        ckpt = {}
    if isinstance(ckpt, dict) and CHECKPOINT_KEY in ckpt:
        return json.loads(ckpt[CHECKPOINT_KEY])
    beside = osp.join(osp.dirname(osp.abspath(checkpoint)), CHOICES_FILE)
    if osp.isfile(beside):
        with open(beside) as f:
            return json.load(f)
    return None


def detector_config(model_cfg: Any) -> Any:
    """The detector's part of a ``model`` config, under test-time
    augmentation's wrapper (``tools/test.py --tta`` puts it in ``module``)."""
    while 'module' in model_cfg:
        model_cfg = model_cfg['module']
    return model_cfg


def _set_scale(node: Any, scale: float) -> None:
    """Every ``Resize`` in a (nested) pipeline config resizes by ``scale``."""
    if isinstance(node, dict):
        if node.get('type') in ('Resize', 'mmdet.Resize'):
            node.pop('scale', None)
            node['scale_factor'] = (scale, scale)
        for v in node.values():
            _set_scale(v, scale)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _set_scale(v, scale)


def adapted_config(cfg: Any, checkpoint: str, input_scale: bool = True) -> Any:
    """A copy of the mmengine ``Config`` ``cfg`` with the choices saved with
    ``checkpoint`` written in: the input scale into every ``Resize`` of the
    dataloaders' and the test-time augmentation's pipelines (unless
    ``input_scale=False``: an export's static shape sets the scale), the
    fitted anchor generators into their heads. ``cfg`` itself where there
    are none."""
    choices = saved_choices(checkpoint)
    if not choices:
        return cfg
    cfg = copy.deepcopy(cfg)
    sc = choices.get('input_scale')
    if sc is not None and input_scale:
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            if cfg.get(key):
                _set_scale(cfg[key].dataset.get('pipeline'), sc['scale'])
        if cfg.get('tta_pipeline'):
            _set_scale(cfg.tta_pipeline, sc['scale'])
    model = detector_config(cfg.model)
    for name, fit in choices.get('anchors', {}).items():
        head = model.get(name)
        if head is None or not fit['changed']:
            continue
        key = (
            'anchor_generator'
            if 'anchor_generator' in head
            else 'prior_generator'
        )
        head[key] = fit['cfg']
    return cfg
