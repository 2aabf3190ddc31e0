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

import inspect
import math
from typing import Any, Dict, List, Optional, Tuple

import torch
from torch import Tensor

from . import balance as B
from .sampling_data import gt_instances, rpn_proposals, synthetic_proposals

#: Draws of the IoU-balanced sampler per image.
DRAWS = 4
#: Bins of the sampled-IoU histograms over [0, the negative threshold].
HIST_BINS = 10
#: The paper's IoU-balanced sampler (three bins, MMDetection's steady state).
BALANCED_SAMPLER = dict(
    type='mmdet_libra_ext.IoUBalancedNegSampler',
    floor_thr=-1,
    floor_fraction=0,
    num_bins=3,
)


class ConfigError(ValueError):
    """The config lacks what the report needs (the message names it)."""


def _get(cfg: Any, path: str) -> Any:
    node = cfg
    for key in path.split('.'):
        if not hasattr(node, 'get') or node.get(key) is None:
            return None
        node = node.get(key)
    return node


def _require(cfg: Any, path: str, why: str) -> Any:
    value = _get(cfg, path)
    if value is None:
        raise ConfigError(f'the config has no {path} ({why})')
    return value


def stages(cfg: Any) -> List[Dict[str, Any]]:
    """The stages whose samples the report reads: ``name``, ``head`` (the
    head's config), ``train_cfg``, ``priors`` (``'anchors'``, ``'points'``
    or ``'proposals'``), ``generator`` (a prior generator's config) and, for
    the box head of the detector, ``final=True``."""
    model = _require(cfg, 'model', 'a detector config needs a model')
    train_cfg = _require(
        cfg, 'model.train_cfg', 'the assigners and samplers of training'
    )
    out = []

    def prior_stage(name: str, head: Any, tcfg: Any) -> Dict[str, Any]:
        gen = head.get('anchor_generator') or head.get('prior_generator')
        if gen is None:
            # The head's own default (FCOS-like heads build their point
            # generator from their strides).
            from mmdet.registry import MODELS

            gen = getattr(MODELS.build(head), 'prior_generator', None)
        if gen is None:
            raise ConfigError(
                f'the config has no model.{name}.anchor_generator or '
                'prior_generator'
            )
        gtype = gen.get('type', '') if hasattr(gen, 'get') else type(gen)
        kind = 'points' if 'Point' in str(gtype) else 'anchors'
        return dict(
            name=name, head=head, train_cfg=tcfg, priors=kind, generator=gen
        )

    if model.get('rpn_head') is not None:
        out.append(
            prior_stage(
                'rpn',
                model.rpn_head,
                _require(cfg, 'model.train_cfg.rpn', "the RPN's assigner"),
            )
        )
    if model.get('roi_head') is not None:
        rcnn = _require(cfg, 'model.train_cfg.rcnn', 'the RoI assigner')
        if isinstance(rcnn, (list, tuple)):
            rcnn = rcnn[0]  # a cascade: its first stage
        head = model.roi_head.get('bbox_head')
        if isinstance(head, (list, tuple)):
            head = head[0]
        if head is None:
            raise ConfigError('the config has no model.roi_head.bbox_head')
        out.append(
            dict(name='rcnn', head=head, train_cfg=rcnn, priors='proposals')
        )
    elif model.get('bbox_head') is not None:
        if train_cfg.get('assigner') is None:
            raise ConfigError(
                'the config has no model.train_cfg.assigner (the head '
                "labels its priors with it; a query-based detector's "
                'matching is not read by this report)'
            )
        out.append(prior_stage('head', model.bbox_head, train_cfg))
    if not out:
        raise ConfigError(
            'the config has none of model.rpn_head, model.roi_head, '
            'model.bbox_head'
        )
    out[-1]['final'] = True
    return out


def priors_and_levels(
    generator: Any, img_shape: Tuple[int, int], pad_divisor: int
) -> Tuple[Tensor, Tensor]:
    """All priors of a built generator for an image of ``img_shape``
    (padded to ``pad_divisor``) and each prior's level."""
    h, w = (-(-int(x) // pad_divisor) * pad_divisor for x in img_shape[:2])
    sizes = [(-(-h // s[1]), -(-w // s[0])) for s in generator.strides]
    per_level = generator.grid_priors(sizes, device='cpu')
    levels = torch.cat(
        [
            torch.full((len(p),), i, dtype=torch.long)
            for i, p in enumerate(per_level)
        ]
    )
    return torch.cat(per_level), levels


def _assign(assigner: Any, priors: Tensor, levels: Tensor, gt: Any) -> Any:
    from mmengine.structures import InstanceData

    pred = InstanceData(priors=priors)
    params = inspect.signature(assigner.assign).parameters
    if 'num_level_priors' in params:
        counts = torch.bincount(levels).tolist() if len(levels) else []
        return assigner.assign(pred, counts, gt)
    return assigner.assign(pred, gt)


def _quota_sampler(sampler_cfg: Any) -> Optional[Dict[str, Any]]:
    """The paper's IoU-balanced sampler with the quota of the stage's
    sampler (``num``, ``pos_fraction``; not its ``neg_pos_ub``, itself a
    balancing choice that Libra's RPN sets), or None for a stage without
    sampling (PseudoSampler)."""
    if sampler_cfg is None or 'num' not in sampler_cfg:
        return None
    keep = ('num', 'pos_fraction', 'add_gt_as_proposals')
    return dict(
        BALANCED_SAMPLER,
        **{k: sampler_cfg[k] for k in keep if k in sampler_cfg},
    )


def train_loader(cfg: Any, seed: int) -> Any:
    """The config's training loader, seeded, read in this process."""
    from mmengine.runner import Runner

    loader_cfg = _require(
        cfg, 'train_dataloader', "the report reads the config's training data"
    ).copy()
    loader_cfg.num_workers = 0
    loader_cfg.persistent_workers = False
    loader_cfg.pop('prefetch_factor', None)
    if loader_cfg.get('sampler') is not None:
        loader_cfg.sampler = dict(loader_cfg.sampler, seed=seed)
    return Runner.build_dataloader(loader_cfg, seed=seed)


def leaf_datasets(dataset: Any) -> List[Any]:
    """The datasets under MMDetection's and mmengine's wrappers (repeat,
    class-balanced, concatenation), each once."""
    if hasattr(dataset, 'datasets'):
        return [d for sub in dataset.datasets for d in leaf_datasets(sub)]
    if hasattr(dataset, 'dataset'):
        return leaf_datasets(dataset.dataset)
    return [dataset]


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
    from .box_stats import dataset_instances

    labels = [lab for lab, _ in dataset_instances(dataset)]
    counts = B.class_counts(labels, len(classes))
    return dict(
        classes=classes,
        num_images=len(labels),
        instances=counts['instances'],
        images=counts['images'],
        imbalance_ratio=B.imbalance_ratio(counts['instances']),
    )


class _StageReader:
    """Accumulates one stage's readings image by image."""

    def __init__(self, stage: Dict[str, Any], cfg: Any, seed: int) -> None:
        from mmdet.registry import MODELS, TASK_UTILS

        self.stage = stage
        tcfg = stage['train_cfg']
        self.assigner = TASK_UTILS.build(
            _require(tcfg, 'assigner', f"stage {stage['name']}'s assigner")
        )
        self.neg_thr = float(tcfg.assigner.get('neg_iou_thr', 0.4))
        if isinstance(tcfg.assigner.get('neg_iou_thr'), (list, tuple)):
            self.neg_thr = float(max(tcfg.assigner.neg_iou_thr))
        gen = stage.get('generator')
        self.generator = TASK_UTILS.build(gen) if hasattr(gen, 'get') else gen
        self.pad = int(
            _get(cfg, 'model.data_preprocessor.pad_size_divisor') or 1
        )
        sampler_cfg = tcfg.get('sampler')
        self.sampler_type = (
            str(sampler_cfg.get('type')) if sampler_cfg else 'PseudoSampler'
        )
        balanced = _quota_sampler(sampler_cfg)
        self.gen = torch.Generator().manual_seed(seed)
        self.balanced = (
            TASK_UTILS.build(dict(balanced, generator=self.gen))
            if balanced
            else None
        )
        self.add_gt = bool(balanced and balanced.get('add_gt_as_proposals'))
        if stage['name'] == 'rcnn':
            ext = _get(cfg, 'model.roi_head.bbox_roi_extractor') or {}
            self.num_levels = len(ext.get('featmap_strides', [4, 8, 16, 32]))
            self.finest_scale = float(ext.get('finest_scale', 56))
        else:
            assert self.generator is not None
            self.num_levels = self.generator.num_levels
        self.final = bool(stage.get('final'))
        head = stage['head']
        self.reg_decoded = bool(head.get('reg_decoded_bbox', False))
        self.coder = (
            TASK_UTILS.build(head.bbox_coder)
            if head.get('bbox_coder')
            else None
        )
        loss_cfg = head.get('loss_bbox')
        self.loss = (
            MODELS.build(dict(loss_cfg, loss_weight=1.0)) if loss_cfg else None
        )
        self.loss_type = str(loss_cfg.get('type')) if loss_cfg else None
        self.neg_ious: List[Tensor] = []
        self.quotas: List[int] = []
        self.balanced_ious: List[Tensor] = []
        self.gt_levels: List[Tensor] = []
        self.gt_boxes: List[Tensor] = []
        self.pos_levels: List[Tensor] = []
        self.reg_pred: List[Tensor] = []
        self.reg_target: List[Tensor] = []
        self.num_candidates = 0
        self.num_positives = 0

    def priors(
        self, gt: Tensor, img_shape: Tuple[int, int], proposals: Any
    ) -> Tuple[Tensor, Tensor]:
        if self.stage['priors'] == 'proposals':
            p = (
                proposals
                if proposals is not None
                else synthetic_proposals(gt, img_shape, generator=self.gen)
            )
            return p, torch.zeros(len(p), dtype=torch.long)
        assert self.generator is not None
        return priors_and_levels(self.generator, img_shape, self.pad)

    def add(
        self, gt: Any, img_shape: Tuple[int, int], proposals: Any = None
    ) -> None:
        from mmdet.structures.bbox import bbox_overlaps

        boxes = gt.bboxes
        priors, levels = self.priors(boxes, img_shape, proposals)
        if self.stage['priors'] == 'points':
            return
        assign = _assign(self.assigner, priors, levels, gt)
        iou = (
            bbox_overlaps(priors, boxes).max(1).values
            if len(boxes)
            else priors.new_zeros(len(priors))
        )
        neg = assign.gt_inds == 0
        pos = assign.gt_inds > 0
        self.num_candidates += len(priors)
        self.num_positives += int(pos.sum())
        self.neg_ious.append(iou[neg])
        if self.balanced is not None:
            self._sample(assign, priors, gt, iou)
        # Feature level: the level each ground truth is learnt on.
        if self.stage['priors'] == 'proposals':
            lv = B.roi_levels(boxes, self.num_levels, self.finest_scale)
        else:
            lv = B.gt_levels_from_priors(
                assign.gt_inds[pos] - 1,
                levels[pos],
                len(boxes),
                self.num_levels,
            )
            self.pos_levels.append(levels[pos])
        self.gt_levels.append(lv)
        self.gt_boxes.append(boxes)
        if self.final and self.coder is not None and pos.any():
            p, t = priors[pos], boxes[assign.gt_inds[pos] - 1]
            if self.reg_decoded:
                self.reg_pred.append(p)
                self.reg_target.append(t)
            else:
                target = self.coder.encode(p, t)
                self.reg_pred.append(torch.zeros_like(target))
                self.reg_target.append(target)

    def _sample(
        self, assign: Any, priors: Tensor, gt: Any, iou: Tensor
    ) -> None:
        import copy

        from mmengine.structures import InstanceData

        assert self.balanced is not None
        ext = (
            torch.cat([iou.new_ones(len(gt.bboxes)), iou])
            if self.add_gt
            else iou
        )
        taken = []
        quota = 0
        for _ in range(DRAWS):
            a = copy.deepcopy(assign)
            res = self.balanced.sample(a, InstanceData(priors=priors), gt)
            taken.append(ext[res.neg_inds])
            quota = len(res.neg_inds)
        self.quotas.append(quota)
        self.balanced_ious.append(torch.cat(taken))

    def result(self) -> Dict[str, Any]:
        out: Dict[str, Any] = dict(
            candidates=self.stage['priors'],
            sampler=self.sampler_type,
            neg_iou_thr=self.neg_thr,
        )
        if self.stage['priors'] == 'points':
            out['skipped'] = (
                'the priors are points, not boxes: no IoU with a ground truth'
            )
            return out
        edges = torch.linspace(0, self.neg_thr, HIST_BINS + 1)
        negs = torch.cat(self.neg_ious) if self.neg_ious else torch.zeros(0)
        sample: Dict[str, Any] = dict(
            num_candidates=self.num_candidates,
            num_positives=self.num_positives,
            num_negatives=int(negs.numel()),
            hard_iou=B.HARD_IOU,
            negatives_hard_share=B.hard_share(negs),
            negatives_zero_share=float((negs == 0).double().mean())
            if negs.numel()
            else math.nan,
            hist_edges=edges.tolist(),
            negatives_hist=B.histogram(negs, edges).tolist(),
        )
        if self.balanced is not None:
            rnd_hist = B.weighted_histogram(
                self.neg_ious,
                [
                    min(q, v.numel())
                    for v, q in zip(self.neg_ious, self.quotas)
                ],
                edges,
            )
            bal = torch.cat(self.balanced_ious)
            bal_hist = B.histogram(bal, edges)
            rnd_share = B.random_sample_share(self.neg_ious, self.quotas)
            bal_share = B.hard_share(bal)
            sample.update(
                quota_negatives=int(sum(self.quotas)),
                random_hard_share=rnd_share,
                balanced_hard_share=bal_share,
                random_hist=rnd_hist.tolist(),
                balanced_hist=bal_hist.tolist(),
                **B.room_to_balance(rnd_hist, bal_hist, rnd_share, bal_share),
            )
        out['sample_level'] = sample
        levels = (
            torch.cat(self.gt_levels)
            if self.gt_levels
            else torch.zeros(0, dtype=torch.long)
        )
        boxes = (
            torch.cat(self.gt_boxes) if self.gt_boxes else torch.zeros(0, 4)
        )
        table = B.level_table(levels, boxes, self.num_levels)
        counts = [r['count'] for r in table]
        feature: Dict[str, Any] = dict(
            assigned_by='RoI extractor scale'
            if self.stage['priors'] == 'proposals'
            else 'most positive priors',
            levels=table,
            num_gts=int(levels.numel()),
            unassigned_gts=int((levels < 0).sum()),
            top_level_share=max(counts) / sum(counts)
            if sum(counts)
            else math.nan,
        )
        if (
            self.generator is not None
            and hasattr(self.generator, 'base_anchors')
            and len(boxes)
        ):
            from .box_stats import (
                best_possible_recall,
                box_wh,
                generator_shapes,
            )

            # The anchors' fit to the boxes as the detector sees them
            # (after the pipeline's resize), shared with AdaptToDataHook.
            feature['anchor_fit'] = dict(
                thr=0.5,
                **best_possible_recall(
                    box_wh(boxes), generator_shapes(self.generator), 0.5
                ),
            )
        if self.pos_levels:
            pl = torch.cat(self.pos_levels)
            feature['positive_priors'] = torch.bincount(
                pl, minlength=self.num_levels
            ).tolist()
        out['feature_level'] = feature
        if self.final and self.loss is not None and self.reg_pred:
            out['objective_level'] = self._objective()
        return out

    def _objective(self) -> Dict[str, Any]:
        from mmdet.registry import MODELS

        pred = torch.cat(self.reg_pred)
        target = torch.cat(self.reg_target)
        assert self.loss is not None
        own = B.loss_gradients(self.loss, pred, target)
        mask = own['loss'] >= B.OUTLIER_LOSS
        out: Dict[str, Any] = dict(
            positives=len(pred),
            errors='targets at initialisation (predictions 0)'
            if not self.reg_decoded
            else 'decoded priors against their boxes',
            config_loss=dict(
                type=self.loss_type, **B.inlier_split(own['loss'], own['grad'])
            ),
        )
        if not self.reg_decoded:
            bl1 = MODELS.build(
                dict(
                    type='mmdet_libra_ext.BalancedL1Loss',
                    alpha=0.5,
                    gamma=1.5,
                    beta=1.0,
                    loss_weight=1.0,
                )
            )
            g = B.loss_gradients(bl1, pred, target)
            if mask.dim() < g['grad'].dim():
                mask = mask[:, None].expand_as(g['grad'])
            out['balanced_l1'] = dict(
                type='BalancedL1Loss(alpha=0.5, gamma=1.5)',
                **B.inlier_split(g['loss'], g['grad'], mask),
            )
        return out


def _energy(feats: Any) -> List[float]:
    return [float(f.detach().float().pow(2).mean()) for f in feats]


def model_level(cfg: Any, batches: List[Any], model: Any) -> Dict[str, Any]:
    """The detector's cls/reg loss ratio per batch (ALWA's premise) and its
    per-level feature energy before and after BFP on the first batch."""
    from mmdet_libra_ext.engine.hooks.alwa_losses import (
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
) -> Dict[str, Any]:
    """The report's readings for ``cfg`` (see the module's docstring), read
    under the config's ``default_scope`` (MMDetection's by default)."""
    from mmengine.registry import DefaultScope

    if batches < 1:
        raise ValueError(f'batches must be at least 1, got {batches}')
    scope = cfg.get('default_scope') or 'mmdet'
    with DefaultScope.overwrite_default_scope(scope):
        return _collect(cfg, batches, checkpoint, seed, with_model)


def _collect(
    cfg: Any,
    batches: int,
    checkpoint: Optional[str],
    seed: int,
    with_model: bool,
) -> Dict[str, Any]:
    from mmdet.registry import MODELS
    from mmengine.runner.utils import set_random_seed

    plan = stages(cfg)
    set_random_seed(seed)
    loader = train_loader(cfg, seed)
    readers = [_StageReader(s, cfg, seed) for s in plan]

    def build_model() -> Any:
        model = MODELS.build(cfg.model)
        if checkpoint:
            from mmengine.runner import load_checkpoint

            load_checkpoint(model, checkpoint, map_location='cpu')
        return model.eval()

    # The data-side readings do not depend on the model: without a
    # checkpoint it is built after them, so that its initialisation (which
    # draws from torch's generator) cannot move them.
    use_rpn = checkpoint is not None and any(
        s['priors'] == 'proposals' for s in plan
    )
    model = build_model() if use_rpn else None
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
        model = build_model()
    if model is not None:
        report['model'] = model_level(cfg, kept, model)
        report['model']['weights'] = checkpoint or 'initialisation'
    return report
