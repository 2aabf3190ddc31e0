"""What the balance report reads of one stage, image by image
(:class:`StageReader`): the candidates' IoUs, what an IoU-balanced sampler
takes, the ground truths' levels and the regression targets; the readings
made of them are :mod:`.stage_readings`'."""

import copy
import inspect
from typing import Any, Dict, List, Optional, Tuple

import torch
from torch import Tensor

from . import balance as B
from . import stage_readings as R
from .balance_stages import get, require
from .sampling_data import synthetic_proposals

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


class StageReader:
    """Accumulates one stage's readings image by image."""

    def __init__(self, stage: Dict[str, Any], cfg: Any, seed: int) -> None:
        from mmdet.registry import MODELS, TASK_UTILS

        self.stage = stage
        tcfg = stage['train_cfg']
        # Item access throughout: a config edited in code may hold plain
        # dicts (mmengine < 0.8 does not convert them on assignment).
        assigner = require(
            tcfg, 'assigner', f"stage {stage['name']}'s assigner"
        )
        self.assigner = TASK_UTILS.build(assigner)
        neg_thr = assigner.get('neg_iou_thr', 0.4)
        if isinstance(neg_thr, (list, tuple)):
            neg_thr = max(neg_thr)
        self.neg_thr = float(neg_thr)
        gen = stage.get('generator')
        self.generator = TASK_UTILS.build(gen) if hasattr(gen, 'get') else gen
        self.pad = int(
            get(cfg, 'model.data_preprocessor.pad_size_divisor') or 1
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
            ext = get(cfg, 'model.roi_head.bbox_roi_extractor') or {}
            self.num_levels = len(ext.get('featmap_strides', [4, 8, 16, 32]))
            self.finest_scale = float(ext.get('finest_scale', 56))
        else:
            assert self.generator is not None
            self.num_levels = self.generator.num_levels
        self.final = bool(stage.get('final'))
        head = stage['head']
        self.reg_decoded = bool(head.get('reg_decoded_bbox', False))
        self.coder = (
            TASK_UTILS.build(head['bbox_coder'])
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
        """The image's candidates and their levels: the proposals given or
        synthetic ones (RoI stage, level 0), or the generator's priors."""
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
        """Read one image's ground truths ``gt`` against its candidates."""
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
        """The stage's readings over the images added (JSON-able)."""
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
        out['sample_level'] = R.sample_level(
            self.neg_ious,
            self.neg_thr,
            HIST_BINS,
            num_candidates=self.num_candidates,
            num_positives=self.num_positives,
            quotas=self.quotas if self.balanced is not None else None,
            balanced_ious=self.balanced_ious,
        )
        out['feature_level'] = R.feature_level(
            self.gt_levels,
            self.gt_boxes,
            self.num_levels,
            by_roi_scale=self.stage['priors'] == 'proposals',
            generator=self.generator,
            pos_levels=self.pos_levels,
        )
        if self.final and self.loss is not None and self.reg_pred:
            out['objective_level'] = R.objective_level(
                self.loss,
                self.loss_type,
                torch.cat(self.reg_pred),
                torch.cat(self.reg_target),
                self.reg_decoded,
            )
        return out
