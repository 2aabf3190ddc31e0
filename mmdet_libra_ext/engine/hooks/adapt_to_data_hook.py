"""Read the training boxes before training and fit the input scale and the
anchors to them (the data-adaptive recipe of docs/own_dataset.md)."""

import json
import os.path as osp
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

import torch
from mmengine.hooks import Hook

from mmdet_libra_ext.analysis import box_stats as S
from mmdet_libra_ext.engine.hooks.detection_caps import (
    caps_line,
    detector,
    raise_caps,
)
from mmdet_libra_ext.registry import HOOKS
from mmdet_libra_ext.utils.adapted_config import (
    CHECKPOINT_KEY,
    CHOICES_FILE,
    detector_config,
)
from mmdet_libra_ext.utils.checks import check_positive
from mmdet_libra_ext.utils.compat import runner_built_loops

if TYPE_CHECKING:
    from mmengine.runner import Runner

#: Heads whose anchor generator is fitted, in the order they are looked for.
HEADS = ('rpn_head', 'bbox_head')


@HOOKS.register_module()
class AdaptToDataHook(Hook):
    """Fit the input scale and the anchors to the training set's boxes.

    Before the run (training or testing), the hook reads the boxes of the
    config's training set (annotations only) and:

    - chooses the factor every image is resized by
      (:func:`~mmdet_libra_ext.analysis.box_stats.choose_input_scale`): the
      small objects (10th percentile) at least ``smallest`` pixels, the
      large ones (90th) at most ``largest``, the long side at most
      ``max_long_side``; it replaces the ``scale`` of every ``Resize`` of
      the training, validation and test pipelines;
    - reports the best possible recall of each anchor generator on the
      boxes at that scale (``input_scale=False``: as the training
      pipeline's first ``Resize`` scales each image) and, where it is
      below ``bpr_target``, fits the anchor scales and ratios
      (:func:`~mmdet_libra_ext.analysis.box_stats.choose_anchors`; the
      strides and the number of anchors per place stay);
    - raises the detector's caps on the boxes kept per image (test time:
      the RPN's ``nms_pre`` and ``max_per_img``, the final
      ``max_per_img``, test-time augmentation's) by one factor where the
      largest image to evaluate, as dense as the densest training image,
      could hold more than half the final cap.

    The choices are logged, written to ``work_dir/adapt_to_data.json`` and
    stored in every checkpoint; a resumed or tested run takes them from
    the checkpoint, so it continues exactly what was trained.

    Args:
        input_scale (bool): Fit the input scale. Defaults to True.
        anchors (bool): Fit the anchors. Defaults to True.
        smallest (float): Pixels the small objects should have at least.
            Defaults to 24.
        largest (float): Pixels the large objects should have at most.
            Defaults to 320.
        max_long_side (float): Longest image side after resizing. Defaults
            to 1333.
        bpr_thr (float): Centred IoU at which a box counts as recallable.
            Defaults to 0.5.
        bpr_target (float): Best possible recall below which the anchors
            are fitted. Defaults to 0.95.
    """

    priority = 'VERY_HIGH'

    def __init__(
        self,
        input_scale: bool = True,
        anchors: bool = True,
        smallest: float = 24.0,
        largest: float = 320.0,
        max_long_side: float = 1333.0,
        bpr_thr: float = 0.5,
        bpr_target: float = 0.95,
    ) -> None:
        for name, flag in (('input_scale', input_scale), ('anchors', anchors)):
            if not isinstance(flag, bool):
                raise TypeError(
                    f'AdaptToDataHook: {name} must be True or False, got '
                    f'{name}={flag!r}'
                )
        self.input_scale = input_scale
        self.anchors = anchors
        check_positive(
            smallest=smallest,
            largest=largest,
            max_long_side=max_long_side,
            bpr_thr=bpr_thr,
            bpr_target=bpr_target,
        )
        self.smallest = float(smallest)
        self.largest = float(largest)
        self.max_long_side = float(max_long_side)
        if self.smallest >= self.largest:
            raise ValueError(
                f'AdaptToDataHook: smallest={smallest!r} must be below '
                f'largest={largest!r}'
            )
        for name, v in (('bpr_thr', bpr_thr), ('bpr_target', bpr_target)):
            if not v <= 1:
                raise ValueError(
                    f'AdaptToDataHook: {name} must be in (0, 1], got '
                    f'{name}={v!r}'
                )
        self.bpr_thr = float(bpr_thr)
        self.bpr_target = float(bpr_target)
        self.choices: Optional[Dict[str, Any]] = None
        # The config's test-time caps, read once (raise_caps).
        self.config_caps: Dict[Tuple[str, str], int] = {}
        self.caps: Dict[str, Any] = dict(factor=1.0)

    # -- what the data says ------------------------------------------------
    def choose(self, runner: 'Runner') -> Dict[str, Any]:
        """The choices for the config's training set."""
        from mmdet.registry import DATASETS
        from mmengine.registry import DefaultScope

        scope = runner.cfg.get('default_scope') or 'mmdet'
        with DefaultScope.overwrite_default_scope(scope):
            dataset = DATASETS.build(runner.cfg.train_dataloader.dataset)
        images = S.dataset_instances(dataset)
        wh = S.box_wh(torch.cat([b for _, b, _ in images]))
        if len(wh) == 0:
            raise ValueError(
                'AdaptToDataHook: the training set has no box to adapt to'
            )
        long_side = max(max(size) for _, _, size in images)
        choices: Dict[str, Any] = dict(
            num_images=len(images),
            num_boxes=int(len(wh)),
            boxes_per_mpx=S.boxes_per_mpx(images),
        )
        if self.input_scale:
            sc = S.choose_input_scale(
                wh,
                float(long_side),
                self.smallest,
                self.largest,
                self.max_long_side,
            )
            choices['input_scale'] = sc
            seen = wh * sc['scale']
        else:
            # The boxes as the training pipeline's own Resize (the first
            # one) presents them to the detector.
            seen = wh
            resize = S.first_resize(dataset)
            if resize is not None:
                seen, choices['pipeline_scale'] = S.resized_wh(images, resize)
        anchors = {}
        model = detector(runner)
        model_cfg = detector_config(runner.cfg.model)
        for name in HEADS:
            head_cfg = model_cfg.get(name)
            gen_cfg = None
            if head_cfg is not None:
                gen_cfg = head_cfg.get('anchor_generator') or head_cfg.get(
                    'prior_generator'
                )
            if gen_cfg is None or getattr(model, name, None) is None:
                continue
            if 'ratios' not in gen_cfg:
                continue  # not an AnchorGenerator (points, YOLO...)
            fit = S.choose_anchors(
                seen,
                gen_cfg.to_dict()
                if hasattr(gen_cfg, 'to_dict')
                else dict(gen_cfg),
                self.bpr_thr,
                self.bpr_target if self.anchors else 0.0,
            )
            anchors[name] = fit
        choices['anchors'] = anchors
        return choices

    # -- applying them -----------------------------------------------------
    def apply(self, runner: 'Runner', choices: Dict[str, Any]) -> None:
        """Set the choices on the runner's pipelines and model."""
        from mmdet.registry import TASK_UTILS

        sc = choices.get('input_scale')
        if sc is not None:
            # The loops built so far (training: the training and validation
            # loops; testing: the test loop), not building any.
            for loop in runner_built_loops(runner):
                dataset = getattr(loop.dataloader, 'dataset', None)
                if dataset is None:
                    continue
                for ds in S.leaf_datasets(dataset):
                    for t in S.pipeline_resizes(getattr(ds, 'pipeline', None)):
                        t.scale = None
                        t.scale_factor = (sc['scale'], sc['scale'])
        model = detector(runner)
        for name, fit in choices.get('anchors', {}).items():
            head = getattr(model, name, None)
            if head is None or not fit['changed']:
                continue
            gen = TASK_UTILS.build(fit['cfg'])
            old = head.prior_generator
            if gen.num_base_priors != old.num_base_priors:
                raise ValueError(
                    f'AdaptToDataHook: {name} would change its anchors per '
                    f'place from {old.num_base_priors} to '
                    f'{gen.num_base_priors}'
                )
            head.prior_generator = gen
        self.caps = raise_caps(
            runner, choices.get('boxes_per_mpx', 0), self.config_caps
        )

    def _log(
        self, runner: 'Runner', choices: Dict[str, Any], how: str
    ) -> None:
        lines = [
            f'AdaptToDataHook ({how}): {choices["num_boxes"]} boxes '
            f'in {choices["num_images"]} training images'
        ]
        sc = choices.get('input_scale')
        if sc:
            lines.append(
                f'  object sizes p10/p50/p90 {sc["size_p10"]:.0f}/'
                f'{sc["size_p50"]:.0f}/{sc["size_p90"]:.0f} px: images '
                f'resized by {sc["scale"]} (long side {sc["long_side"]:.0f})'
            )
        if 'pipeline_scale' in choices:
            lines.append(
                f"  input scale kept: the pipeline's Resize scales the images"
                f' by {choices["pipeline_scale"]:.3f} (median)'
            )
        for name, fit in choices.get('anchors', {}).items():
            b, a = fit['before'], fit['after']
            lines.append(
                f'  {name} anchors: best possible recall at IoU '
                f'{self.bpr_thr} {b["bpr"]:.3f} (mean best IoU '
                f'{b["mean_best_iou"]:.3f})'
                + (
                    f' -> {a["bpr"]:.3f} ({a["mean_best_iou"]:.3f}) with '
                    + ', '.join(
                        f'{k}={fit["cfg"][k]}'
                        for k in ('scales', 'octave_base_scale', 'ratios')
                        if k in fit['cfg']
                    )
                    if fit['changed']
                    else ', kept'
                )
            )
        if self.caps['factor'] > 1:
            lines.append(caps_line(self.caps))
        for line in lines:
            runner.logger.info(line)

    def before_run(self, runner: 'Runner') -> None:
        """Choose (or take the chosen values already loaded) and apply."""
        how = 'read from the training boxes'
        if self.choices is None:
            self.choices = self.choose(runner)
        else:
            how = 'from the checkpoint'
        self.apply(runner, self.choices)
        self._log(runner, self.choices, how)
        work_dir = getattr(runner, 'work_dir', None)
        if work_dir and runner.rank == 0:
            with open(osp.join(work_dir, CHOICES_FILE), 'w') as f:
                json.dump(self.choices, f, indent=1)

    def before_save_checkpoint(
        self, runner: 'Runner', checkpoint: dict
    ) -> None:
        """Keep the choices in the checkpoint."""
        if self.choices is not None:
            checkpoint[CHECKPOINT_KEY] = json.dumps(self.choices)

    def after_load_checkpoint(
        self, runner: 'Runner', checkpoint: dict
    ) -> None:
        """A checkpoint's choices win (what it predates is read from the
        data): re-apply them if they differ."""
        saved = checkpoint.get(CHECKPOINT_KEY)
        if saved is None:
            return
        choices = dict(self.choices or {}, **json.loads(saved))
        if choices != self.choices:
            self.choices = choices
            self.apply(runner, choices)
            self._log(runner, choices, 'from the checkpoint')
