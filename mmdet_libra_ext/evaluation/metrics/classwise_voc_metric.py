"""Pascal VOC mAP with each class's AP among the returned metrics.

MMDetection's ``VOCMetric`` prints a per-class table to the log but returns
only the mean (``mAP``, ``AP50``...), so per-class AP never reaches the
scalars file, the ablation records or a comparison. On an imbalanced
dataset (BCCD: 11 red cells per white cell or platelet) the mean hides what
balancing methods are for. :class:`ClasswiseVOCMetric` is ``VOCMetric``
(same matching, legacy ``+1`` coordinates, ``11points`` or ``area``, same
keys and log table) that also returns ``{class}_AP{thr}`` for every class
and IoU threshold: ``VOCMetric`` reports first, then ``eval_map`` runs once
more on the same results, silently, for the per-class APs (matching the
boxes again costs a fraction of a second next to the inference; it keeps
``VOCMetric``'s own reporting as each MMDetection version has it).
"""

from collections import OrderedDict
from typing import Sequence

from mmdet.evaluation import VOCMetric
from mmdet.evaluation.functional import eval_map

from mmdet_libra_ext.registry import METRICS


@METRICS.register_module()
class ClasswiseVOCMetric(VOCMetric):
    """``VOCMetric`` returning each class's AP too (metric ``'mAP'``).

    Keys (after the prefix, ``pascal_voc`` unless given): MMDetection's
    ``mAP`` and ``AP50`` (one per IoU threshold), plus ``{class}_AP50``.
    Recall evaluation (``metric='recall'``) is ``VOCMetric``'s unchanged.
    """

    def compute_metrics(self, results: list) -> dict:
        """VOCMetric's metrics, and each class's AP for ``'mAP'``."""
        if self.metric != 'mAP':
            return super().compute_metrics(results)
        gts, preds = zip(*results)
        classes: Sequence[str] = self.dataset_meta['classes']
        # VOCMetric's own reporting: the log table and the mean keys.
        out = super().compute_metrics(results)
        per_class = OrderedDict()
        for iou_thr in self.iou_thrs:
            _, cls_results = eval_map(
                preds,
                gts,
                scale_ranges=self.scale_ranges,
                iou_thr=iou_thr,
                dataset=list(classes),
                logger='silent',
                eval_mode=self.eval_mode,
                use_legacy_coordinate=True,
            )
            for name, res in zip(classes, cls_results):
                ap = float(res['ap'])
                per_class[f'{name}_AP{int(iou_thr * 100):02d}'] = round(ap, 4)
        out.update(per_class)
        return out
