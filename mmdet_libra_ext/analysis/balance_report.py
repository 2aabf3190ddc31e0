"""Read a detector config's balance from its own training data: what
``tools/analysis_tools/balance_report.py`` reports (see
:mod:`mmdet_libra_ext.analysis.balance` for the statistics).

:func:`collect` reads ``batches`` batches of the config's training loader
(its pipeline and augmentation, seeded), labels every candidate of every
stage with the config's own assigner and gives a JSON-able dictionary:

- ``class_level``: from the whole training set's annotations;
- ``stages``: per stage (``rpn``, ``rcnn``, or the one-stage ``head``) the
  candidate negatives' IoU distribution, what a random and an IoU-balanced
  sampler with the stage's quota take (the paper's sampler, built here, so
  the reading does not depend on the sampler the config trains with), the
  ground truths per pyramid level and, for the box head, the regression
  loss's inlier/outlier split under the config's loss and Balanced L1;
- ``model``: the detector's cls/reg loss ratios over the batches and the
  per-level feature energy before and after BFP (if the config has one), at
  the checkpoint's weights or at initialisation.

The RoI stage's candidates are the RPN's proposals when a checkpoint is
given, otherwise boxes made from the ground truths (jittered at several
scales) and uniformly random boxes, as an RPN's output looks; the report
says which.
"""

import math
from typing import Any, Dict, List, Optional

import torch

from . import balance as B
from .balance_stages import ConfigError, require, stages
from .box_stats import dataset_instances, leaf_datasets
from .sampling_data import gt_instances, rpn_proposals
from .stage_reader import StageReader

__all__ = [
    'ConfigError',
    'class_level',
    'collect',
    'model_level',
    'train_loader',
]


def train_loader(cfg: Any, seed: int) -> Any:
    """The config's training loader, seeded, read in this process."""
    from mmengine.runner import Runner

    loader_cfg = require(
        cfg, 'train_dataloader', "the report reads the config's training data"
    ).copy()
    loader_cfg.num_workers = 0
    loader_cfg.persistent_workers = False
    loader_cfg.pop('prefetch_factor', None)
    if loader_cfg.get('sampler') is not None:
        loader_cfg.sampler = dict(loader_cfg.sampler, seed=seed)
    return Runner.build_dataloader(loader_cfg, seed=seed)


def class_level(dataset: Any) -> Dict[str, Any]:
    """Instances and images per class over the training annotations
    (ignored instances left out)."""
    leaves = leaf_datasets(dataset)
    classes = list(leaves[0].metainfo.get('classes') or [])
    if not classes:
        raise ConfigError(
            "the training dataset's metainfo has no classes; set "
            'train_dataloader.dataset.metainfo=dict(classes=...)'
        )
    labels = [lab for lab, _, _ in dataset_instances(dataset)]
    counts = B.class_counts(labels, len(classes))
    return dict(
        classes=classes,
        num_images=len(labels),
        instances=counts['instances'],
        images=counts['images'],
        imbalance_ratio=B.imbalance_ratio(counts['instances']),
    )


def _energy(feats: Any) -> List[float]:
    return [float(f.detach().float().pow(2).mean()) for f in feats]


def model_level(cfg: Any, batches: List[Any], model: Any) -> Dict[str, Any]:
    """The detector's cls/reg loss ratio per batch (ALWA's premise) and its
    per-level feature energy before and after BFP on the first batch."""
    from mmdet_libra_ext.models.losses.alwa_losses import (
        DEFAULT_PAIRS,
        loss_total,
    )

    energy: Dict[str, Any] = {}
    bfp = [m for m in model.modules() if type(m).__name__ == 'BFP']
    target = bfp[0] if bfp else getattr(model, 'neck', None)

    def grab(module: Any, inputs: Any, output: Any) -> None:
        if 'after' in energy or 'neck' in energy:
            return
        if bfp:
            energy['before'] = _energy(inputs[0])
            energy['after'] = _energy(output)
        else:
            energy['neck'] = _energy(output)

    handle = target.register_forward_hook(grab) if target is not None else None
    ratios: Dict[str, List[float]] = {}
    try:
        model.train()
        for data in batches:
            with torch.no_grad():
                d = model.data_preprocessor(data, True)
                losses = model.loss(d['inputs'], d['data_samples'])
            for cls_key, reg_key in DEFAULT_PAIRS:
                if cls_key in losses and reg_key in losses:
                    reg = float(loss_total(losses[reg_key]))
                    cls = float(loss_total(losses[cls_key]))
                    ratios.setdefault(f'{cls_key}/{reg_key}', []).append(
                        cls / reg if reg > 0 else math.nan
                    )
    finally:
        if handle is not None:
            handle.remove()
    out: Dict[str, Any] = dict(has_bfp=bool(bfp), feature_energy=energy)
    out['cls_reg_ratio'] = {
        k: dict(
            per_batch=v,
            mean=float(torch.tensor(v).nanmean()),
            cv=float(torch.tensor(v).std() / torch.tensor(v).mean())
            if len(v) > 1
            else math.nan,
        )
        for k, v in ratios.items()
    }
    return out


def collect(
    cfg: Any,
    batches: int = 8,
    checkpoint: Optional[str] = None,
    seed: int = 0,
    with_model: bool = True,
    init_weights: bool = False,
) -> Dict[str, Any]:
    """The report's readings for ``cfg`` (see the module's docstring), read
    under the config's ``default_scope`` (MMDetection's by default).

    ``init_weights`` initialises the detector as training starts (its
    ``init_cfg``s: a fine-tuning config's pretrained backbone) before any
    ``checkpoint`` is loaded; without it the modules keep their
    constructors' initialisation."""
    from mmengine.registry import DefaultScope

    if batches < 1:
        raise ValueError(f'batches must be at least 1, got {batches}')
    scope = cfg.get('default_scope') or 'mmdet'
    with DefaultScope.overwrite_default_scope(scope):
        return _collect(
            cfg, batches, checkpoint, seed, with_model, init_weights
        )


def build_detector(
    cfg: Any, checkpoint: Optional[str] = None, init_weights: bool = False
) -> Any:
    """The config's detector in eval mode: initialised as training starts
    (its ``init_cfg``s) where ``init_weights``, then ``checkpoint``'s
    weights loaded where given."""
    from mmdet.registry import MODELS

    model = MODELS.build(cfg.model)
    if init_weights:
        model.init_weights()
    if checkpoint:
        from mmengine.runner import load_checkpoint

        load_checkpoint(model, checkpoint, map_location='cpu')
    return model.eval()


def _collect(
    cfg: Any,
    batches: int,
    checkpoint: Optional[str],
    seed: int,
    with_model: bool,
    init_weights: bool,
) -> Dict[str, Any]:
    from mmengine.runner.utils import set_random_seed

    plan = stages(cfg)
    set_random_seed(seed)
    loader = train_loader(cfg, seed)
    readers = [StageReader(s, cfg, seed) for s in plan]

    # The data-side readings do not depend on the model: without a
    # checkpoint it is built after them, so that its initialisation (which
    # draws from torch's generator) cannot move them.
    use_rpn = checkpoint is not None and any(
        s['priors'] == 'proposals' for s in plan
    )
    model = build_detector(cfg, checkpoint, init_weights) if use_rpn else None
    kept = []
    for b, data in enumerate(loader):
        if b >= batches:
            break
        kept.append(data)
        props = rpn_proposals(model, data) if use_rpn else None
        for i, sample in enumerate(data['data_samples']):
            gt = gt_instances(sample)
            for r in readers:
                p = (
                    props[i].bboxes
                    if props is not None and r.stage['priors'] == 'proposals'
                    else None
                )
                r.add(gt, sample.img_shape, p)
    if not kept:
        raise ConfigError('the training loader gave no batch')
    report: Dict[str, Any] = dict(
        batches=len(kept),
        images=sum(len(d['data_samples']) for d in kept),
        seed=seed,
        checkpoint=checkpoint,
        proposals=None,
        class_level=class_level(loader.dataset),
        stages={r.stage['name']: r.result() for r in readers},
    )
    if any(s['priors'] == 'proposals' for s in plan):
        report['proposals'] = (
            'the RPN of the checkpoint'
            if use_rpn
            else ('synthetic: the ground truths jittered and random boxes')
        )
    if model is None and (with_model or checkpoint):
        set_random_seed(seed)
        model = build_detector(cfg, checkpoint, init_weights)
    if model is not None:
        report['model'] = model_level(cfg, kept, model)
        report['model']['weights'] = checkpoint or (
            "the config's init_cfg" if init_weights else 'initialisation'
        )
    return report
