"""GTInstancesCocoMetric: MMDetection's CocoMetric numbers, the ground truth
read from gt_instances / ignored_instances instead of an ``instances`` meta
key."""

import pytest
import torch
from mmdet.evaluation import CocoMetric
from mmdet.structures.bbox import HorizontalBoxes

from mmdet_libra_ext.evaluation.metrics import (
    GTInstancesCocoMetric,
    instances_of,
)

CLASSES = ('RBC', 'WBC', 'Platelets')
A = [10.0, 10.0, 60.0, 60.0]
B = [100.0, 100.0, 180.0, 160.0]
C = [200.0, 20.0, 260.0, 90.0]
D = [300.0, 300.0, 340.0, 350.0]
E = [400.0, 50.0, 430.0, 90.0]


# Image 0: every class found once, a loose RBC box, a false WBC. Image 1:
# a WBC missed, an ignored (difficult) RBC detected (neither a true nor a
# false positive in COCO's evaluation). (img_id, ground truth, labels,
# ignored RBC boxes, predicted boxes, scores, labels)
LOOSE = [A[0] + 8, A[1] + 8, A[2] + 8, A[3] + 8]
IMAGES = [
    (0, [A, B, C], [0, 1, 2], [], [LOOSE, B, C, D], [0.9, 0.8, 0.7, 0.95],
     [0, 1, 2, 1]),
    (1, [D, A], [1, 0], [E], [A, E], [0.6, 0.5], [0, 0]),
]  # fmt: skip


def _sample(image, box_type):
    img_id, gts, gt_labels, ignored, boxes, scores, labels = image
    t = torch.tensor
    return dict(
        img_id=img_id,
        ori_shape=(480, 640),
        gt_instances=dict(
            bboxes=box_type(t(gts).reshape(-1, 4)),
            labels=t(gt_labels, dtype=torch.long),
        ),
        ignored_instances=dict(
            bboxes=box_type(t(ignored).reshape(-1, 4)),
            labels=torch.zeros(len(ignored), dtype=torch.long),
        ),
        pred_instances=dict(
            bboxes=t(boxes).reshape(-1, 4),
            scores=t(scores),
            labels=t(labels, dtype=torch.long),
        ),
    )


def _instances(image):
    """The `instances` meta key of a dataset record for the image."""
    _, gts, gt_labels, ignored, *_ = image
    return [
        dict(bbox=b, bbox_label=lab, ignore_flag=0)
        for b, lab in zip(gts, gt_labels)
    ] + [dict(bbox=b, bbox_label=0, ignore_flag=1) for b in ignored]


def _evaluate(metric, samples):
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, samples)
    return metric.evaluate(len(samples))


@pytest.mark.parametrize('box_type', [lambda x: x, HorizontalBoxes])
def test_equals_cocometric_given_the_same_boxes_as_instances(box_type):
    samples = [_sample(i, box_type) for i in IMAGES]
    ours = _evaluate(GTInstancesCocoMetric(classwise=True), samples)
    ref = _evaluate(
        CocoMetric(classwise=True),
        [dict(s, instances=_instances(i)) for s, i in zip(samples, IMAGES)],
    )
    assert ours == ref
    # By hand: Platelets, one box found exactly, AP 1 at every IoU.
    assert ours['coco/Platelets_precision'] == 1.0
    assert 0 < ours['coco/bbox_mAP'] < 1


def test_instances_of_lists_ignored_after_the_rest():
    sample = _sample(IMAGES[1], HorizontalBoxes)
    assert instances_of(sample) == _instances(IMAGES[1])
    # The samples are not changed (other metrics see them as they were).
    metric = GTInstancesCocoMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, [sample])
    assert 'instances' not in sample


def test_no_ground_truth_is_refused():
    sample = _sample(IMAGES[0], HorizontalBoxes)
    del sample['gt_instances']
    metric = GTInstancesCocoMetric()
    metric.dataset_meta = dict(classes=CLASSES)
    with pytest.raises(ValueError, match='LoadAnnotations'):
        metric.process({}, [sample])


def test_built_from_the_scoped_name():
    from mmdet.registry import METRICS

    metric = METRICS.build(
        dict(type='mmdet_libra_ext.GTInstancesCocoMetric', classwise=True)
    )
    assert type(metric) is GTInstancesCocoMetric
    assert METRICS.get('CocoMetric') is CocoMetric
