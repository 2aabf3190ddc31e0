"""Log the balance report's readings while training, every ``interval``
iterations, through mmengine's ``MessageHub`` (so into whatever visualizer
backend the config has: the local JSON log, TensorBoard, W&B)."""

import math
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

import torch
import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import Tensor

from mmdet_libra_ext.analysis import balance as B
from mmdet_libra_ext.models.losses.alwa_losses import DEFAULT_PAIRS, log_name
from mmdet_libra_ext.registry import HOOKS
from mmdet_libra_ext.utils.checks import check_int

if TYPE_CHECKING:
    from mmengine.runner import Runner

DATA_BATCH = Optional[Any]

#: Stages a detector may have: (log name, path of the head, its sampler's
#: attribute).
STAGES = (
    ('rpn', 'rpn_head', 'sampler'),
    ('rcnn', 'roi_head', 'bbox_sampler'),
    ('head', 'bbox_head', 'sampler'),
)


def prior_levels(priors: Tensor, generator: Any) -> Tensor:
    """The pyramid level of anchors from ``generator`` (MMDetection's
    ``AnchorGenerator``): every level's base anchors have their own areas,
    and an anchor keeps its base anchor's area."""
    areas: List[Tensor] = []
    levels: List[Tensor] = []
    for i, base in enumerate(generator.base_anchors):
        a = ((base[:, 2] - base[:, 0]) * (base[:, 3] - base[:, 1])).float()
        areas.append(a)
        levels.append(torch.full_like(a, i))
    ref = torch.cat(areas).log().to(priors.device)
    lvl = torch.cat(levels).to(priors.device)
    area = (priors[:, 2] - priors[:, 0]) * (priors[:, 3] - priors[:, 1])
    d = (area.float().clamp(min=1e-6).log()[:, None] - ref[None]).abs()
    return lvl[d.argmin(1)].long()


class _Tap:
    """What the model's samplers and regression loss saw in one iteration,
    as sums (so that the ranks add up)."""

    def __init__(self, num_levels: Dict[str, int], hard_iou: float) -> None:
        self.hard_iou = hard_iou
        self.sums: Dict[str, float] = {}
        self.num_levels = num_levels
        self.restore: List[Callable[[], None]] = []
        self.busy = False

    def add(self, key: str, value: float) -> None:
        self.sums[key] = self.sums.get(key, 0.0) + value

    def sampler(self, stage: str, sampler: Any, levels: Callable) -> None:
        original = sampler.sample

        def sample(assign_result: Any, *args: Any, **kwargs: Any) -> Any:
            res = original(assign_result, *args, **kwargs)
            iou = assign_result.max_overlaps
            if iou is not None:
                neg = iou[res.neg_inds].detach()
                self.add(f'{stage}_neg', float(neg.numel()))
                self.add(f'{stage}_hard', float((neg > self.hard_iou).sum()))
            lv = levels(res)
            if lv is not None:
                counts = torch.bincount(
                    lv.cpu(), minlength=self.num_levels[stage]
                )
                for i, c in enumerate(counts.tolist()):
                    self.add(f'{stage}_pos_level{i}', float(c))
            return res

        sampler.sample = sample
        self.restore.append(lambda: delattr(sampler, 'sample'))

    def loss(self, module: Any) -> None:
        def hook(mod: Any, args: Tuple, kwargs: Dict, output: Any) -> None:
            if self.busy or len(args) < 2:
                return
            pred, target = args[0], args[1]
            weight = args[2] if len(args) > 2 else kwargs.get('weight')
            if pred.numel() == 0:
                return
            if weight is not None:
                keep = weight.reshape(len(pred), -1).sum(1) > 0
                pred, target = pred[keep], target[keep]
            if len(pred) == 0:
                return
            self.busy = True
            try:
                g = B.loss_gradients(mod, pred, target)
            finally:
                self.busy = False
            out = g['loss'] >= B.OUTLIER_LOSS
            self.add('grad_inlier', float(g['grad'][~out].sum()))
            self.add('grad_total', float(g['grad'].sum()))

        handle = module.register_forward_hook(hook, with_kwargs=True)
        self.restore.append(handle.remove)

    def close(self) -> None:
        for undo in reversed(self.restore):
            undo()
        self.restore.clear()


@HOOKS.register_module()
class BalanceMonitorHook(Hook):
    """Every ``interval`` iterations, log the balance of that iteration.

    Under ``train/balance/``: the share of hard sampled negatives per stage,
    the sampled positives per pyramid level, the regression inliers' share
    of the box loss's gradient, the cls/reg loss ratio of each pair and
    ALWA's weights where ALWAHook runs (docs/components.md lists the
    scalars). The hook only reads: training is bit-identical with and
    without it.

    Args:
        interval (int): Iterations between readings, >= 1. Defaults to 50.
        hard_iou (float): A negative above this IoU is hard. Defaults to
            0.05 (the paper's).
    """

    # Before LoggerHook (BELOW_NORMAL), which logs the scalars.
    priority = 'NORMAL'

    def __init__(
        self, interval: int = 50, hard_iou: float = B.HARD_IOU
    ) -> None:
        check_int('BalanceMonitorHook: interval', interval, low=1)
        if not isinstance(hard_iou, (int, float)) or not (
            0 <= float(hard_iou) < 1
        ):
            raise ValueError(
                f'BalanceMonitorHook: hard_iou must be in [0, 1), got '
                f'hard_iou={hard_iou!r}'
            )
        self.interval = interval
        self.hard_iou = float(hard_iou)
        self._tap: Optional[_Tap] = None

    def _due(self, runner: 'Runner') -> bool:
        return (runner.iter + 1) % self.interval == 0

    def before_train_iter(
        self, runner: 'Runner', batch_idx: int, data_batch: DATA_BATCH = None
    ) -> None:
        """Tap the samplers and the regression loss for this iteration."""
        if not self._due(runner):
            return
        model = (
            runner.model.module
            if is_model_wrapper(runner.model)
            else runner.model
        )
        num_levels: Dict[str, int] = {}
        tap = _Tap(num_levels, self.hard_iou)
        for stage, head_name, attr in STAGES:
            head = getattr(model, head_name, None)
            sampler = getattr(head, attr, None) if head is not None else None
            if sampler is None:
                continue
            levels, num_levels[stage] = self._level_fn(stage, head)
            tap.sampler(stage, sampler, levels)
        box_head = getattr(
            getattr(model, 'roi_head', None), 'bbox_head', None
        ) or getattr(model, 'bbox_head', None)
        loss = getattr(box_head, 'loss_bbox', None)
        if isinstance(loss, torch.nn.Module):
            tap.loss(loss)
        self._tap = tap

    @staticmethod
    def _level_fn(stage: str, head: Any) -> Tuple[Callable, int]:
        """The level of a sampling result's positives, and how many levels
        (0 where the head's priors have no level to read)."""
        if stage == 'rcnn':
            ext = getattr(head, 'bbox_roi_extractor', None)
            if ext is not None and hasattr(ext, 'featmap_strides'):
                n = len(ext.featmap_strides)
                scale = float(getattr(ext, 'finest_scale', 56))
                return lambda res: B.roi_levels(res.pos_priors, n, scale), n
        else:
            gen = getattr(head, 'prior_generator', None) or getattr(
                head, 'anchor_generator', None
            )
            if gen is not None and hasattr(gen, 'base_anchors'):
                return lambda res: prior_levels(res.pos_priors, gen), len(
                    gen.base_anchors
                )
        return lambda res: None, 0

    def after_train_iter(
        self,
        runner: 'Runner',
        batch_idx: int,
        data_batch: DATA_BATCH = None,
        outputs: Optional[dict] = None,
    ) -> None:
        """Remove the taps and log what they saw."""
        tap = self._tap
        if tap is None:
            return
        self._tap = None
        tap.close()
        scalars = self._scalars(tap, runner, outputs or {})
        for key, value in scalars.items():
            runner.message_hub.update_scalar(f'train/balance/{key}', value)

    def _scalars(
        self, tap: _Tap, runner: 'Runner', outputs: dict
    ) -> Dict[str, float]:
        sums = dict(tap.sums)
        # The keys every rank has: the model is the same on every rank.
        keys = sorted(sums)
        ratios = self._ratios(outputs)
        rkeys = sorted(ratios)
        world = (
            dist.get_world_size()
            if (dist.is_available() and dist.is_initialized())
            else 1
        )
        if world > 1:
            t = torch.tensor(
                [sums[k] for k in keys] + [ratios[k] for k in rkeys],
                dtype=torch.float64,
            )
            if dist.get_backend() == 'nccl':
                t = t.cuda()
            dist.all_reduce(t)
            t = t.cpu()
            sums = dict(zip(keys, t[: len(keys)].tolist()))
            ratios = {
                k: v / world for k, v in zip(rkeys, t[len(keys) :].tolist())
            }
        out: Dict[str, float] = {}
        for stage in ('rpn', 'rcnn', 'head'):
            n = sums.get(f'{stage}_neg')
            if n:
                out[f'{stage}_hard_neg_share'] = sums[f'{stage}_hard'] / n
            for i in range(tap.num_levels.get(stage, 0)):
                k = f'{stage}_pos_level{i}'
                if k in sums:
                    out[k] = sums[k]
        if sums.get('grad_total'):
            out['inlier_grad_share'] = sums['grad_inlier'] / sums['grad_total']
        out.update(ratios)
        for key, buf in runner.message_hub.log_scalars.items():
            if key.startswith('train/alwa_') and key.endswith('_weight'):
                out[key[len('train/') :]] = float(buf.current())
        return out

    @staticmethod
    def _ratios(outputs: dict) -> Dict[str, float]:
        out = {}
        for cls_key, reg_key in DEFAULT_PAIRS:
            raw = [
                outputs.get(log_name(k, 'raw'), outputs.get(k))
                for k in (cls_key, reg_key)
            ]
            if raw[0] is None or raw[1] is None:
                continue
            cls, reg = (
                float(x.detach()) if isinstance(x, Tensor) else float(x)
                for x in raw
                if x is not None
            )
            # 'loss_rpn_cls' -> 'rpn_cls_reg_ratio', 'loss_cls' -> 'cls_...'
            prefix = cls_key[len('loss_') : -len('cls')]
            out[f'{prefix}cls_reg_ratio'] = cls / reg if reg > 0 else math.nan
        return out
