"""COCO-style box mAP of a dataset without a COCO annotation file, the
ground truth taken from the samples' ``gt_instances``.

MMDetection's ``CocoMetric`` without ``ann_file`` builds its ground truth
from each data sample's ``instances`` meta key, which the test pipeline's
``PackDetInputs`` must then list in ``meta_keys``. MMDetection 3.0 and 3.1
refuse a meta key that a sample lacks, and an image given for inference
(``DetInferencer``, ``inference_detector``: no dataset record) has no
``instances``: with such a pipeline, inference with the config fails there.
:class:`GTInstancesCocoMetric` is ``CocoMetric`` reading the same ground
truth from ``gt_instances`` and ``ignored_instances``, which
``LoadAnnotations`` and ``PackDetInputs`` make on every MMDetection 3.x (the
boxes ``VOCMetric`` evaluates against), so the test pipeline needs no extra
meta key. With ``ann_file``, or samples that carry ``instances``, it is
``CocoMetric`` unchanged.

Like ``VOCMetric``, it expects the ground truth in the original image's
coordinates: ``LoadAnnotations`` after ``Resize`` in the test pipeline, as
MMDetection's own test pipelines have it.
"""

from typing import List, Sequence

from mmdet.evaluation import CocoMetric

from mmdet_libra_ext.registry import METRICS
from mmdet_libra_ext.utils.compat import coco_api


def instances_of(data_sample: dict) -> List[dict]:
    """A data sample's ground truth as dataset ``instances`` records
    (``bbox``, ``bbox_label``, ``ignore_flag``): ``gt_instances``, then
    ``ignored_instances`` with ``ignore_flag=1``."""
    out: List[dict] = []
    for key, flag in (('gt_instances', 0), ('ignored_instances', 1)):
        inst = data_sample.get(key)
        if inst is None:
            continue
        # (Boxes as tensors or mmdet box types: both have .cpu().numpy().)
        boxes = inst['bboxes'].cpu().numpy().tolist()
        labels = inst['labels'].cpu().numpy().tolist()
        out.extend(
            dict(bbox=box, bbox_label=int(label), ignore_flag=flag)
            for box, label in zip(boxes, labels)
        )
    return out


@METRICS.register_module()
class GTInstancesCocoMetric(CocoMetric):
    """``CocoMetric`` whose ground truth, without ``ann_file``, comes from the
    samples' ``gt_instances`` and ``ignored_instances``.

    Same arguments, keys (``coco/bbox_mAP``..., ``coco/{class}_precision``
    with ``classwise=True``) and numbers as ``CocoMetric`` given the same
    boxes as ``instances``.
    """

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """``CocoMetric.process``, each sample's ``instances`` made from its
        ``gt_instances`` when there is no annotation file."""
        if coco_api(self) is not None:
            super().process(data_batch, data_samples)
            return
        samples = []
        for sample in data_samples:
            if 'instances' not in sample:
                if 'gt_instances' not in sample:
                    raise ValueError(
                        'GTInstancesCocoMetric without ann_file needs '
                        'gt_instances in the data samples: LoadAnnotations '
                        'in the test pipeline'
                    )
                # A copy: the other metrics see the sample as it was.
                sample = dict(sample, instances=instances_of(sample))
            samples.append(sample)
        super().process(data_batch, samples)
