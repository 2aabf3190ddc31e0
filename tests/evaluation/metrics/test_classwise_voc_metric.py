"""ClasswiseVOCMetric: MMDetection's VOCMetric means, plus each class's AP
computed by hand from the precision/recall curve."""

import numpy as np
import pytest
import torch

from mmdet_libra_ext.evaluation.metrics import ClasswiseVOCMetric


def _sample(gt_boxes, gt_labels, boxes, scores, labels):
    t = torch.tensor
    return dict(
        gt_instances=dict(
            bboxes=t(gt_boxes, dtype=torch.float32),
            labels=t(gt_labels),
        ),
        ignored_instances=dict(
            bboxes=torch.zeros((0, 4)), labels=torch.zeros(0, dtype=int)
        ),
        pred_instances=dict(
            bboxes=t(boxes, dtype=torch.float32),
            scores=t(scores),
            labels=t(labels),
        ),
    )


A = [10, 10, 60, 60]
B = [100, 100, 180, 160]
C = [200, 20, 260, 90]
D = [300, 300, 340, 350]
FAR = [500, 400, 560, 460]

# Class 0: both ground truths found, nothing else: AP 1.
# Class 1: two ground truths; a false positive scored above the one true
# positive, the other ground truth missed: precision 0 at recall 0, then
# 1/2 at recall 1/2.
SAMPLES = [
    _sample([A, B], [0, 1], [A, FAR, B], [0.9, 0.95, 0.8], [0, 1, 1]),
    _sample([C, D], [0, 1], [C], [0.7], [0]),
]
# 11-point: the largest precision at recall >= t for t in 0, 0.1, ..., 1:
# 1/2 for the six t up to 0.5, 0 above.
AP11 = {'RBC': 1.0, 'WBC': 6 * 0.5 / 11}
# Area under the step curve: precision 1/2 over recall 0 to 1/2.
AREA = {'RBC': 1.0, 'WBC': 0.25}


@pytest.mark.parametrize(
    'eval_mode, expected', [('11points', AP11), ('area', AREA)]
)
def test_per_class_ap_by_hand_and_mean_as_vocmetric(eval_mode, expected):
    from mmdet.evaluation import VOCMetric

    results = {}
    for cls in (ClasswiseVOCMetric, VOCMetric):
        metric = cls(eval_mode=eval_mode, prefix='voc')
        metric.dataset_meta = dict(classes=('RBC', 'WBC'))
        metric.process({}, SAMPLES)
        results[cls] = metric.evaluate(len(SAMPLES))
    ours, ref = results[ClasswiseVOCMetric], results[VOCMetric]
    for name, ap in expected.items():
        assert ours[f'voc/{name}_AP50'] == pytest.approx(ap, abs=1e-4)
    # The mean keys are VOCMetric's, the mean of the classes' APs.
    assert {k: ours[k] for k in ref} == ref
    assert ours['voc/mAP'] == pytest.approx(
        np.mean(list(expected.values())), abs=1e-3
    )


def test_one_key_per_class_and_threshold():
    metric = ClasswiseVOCMetric(iou_thrs=[0.5, 0.75])
    metric.dataset_meta = dict(classes=('RBC', 'WBC'))
    metric.process({}, SAMPLES)
    out = metric.evaluate(len(SAMPLES))
    assert sorted(out) == sorted(
        ['pascal_voc/mAP', 'pascal_voc/AP50', 'pascal_voc/AP75']
        + [f'pascal_voc/{c}_AP{t}' for c in ('RBC', 'WBC') for t in (50, 75)]
    )


def test_built_from_the_scoped_name():
    from mmdet.registry import METRICS

    metric = METRICS.build(
        dict(type='mmdet_libra_ext.ClasswiseVOCMetric', eval_mode='area')
    )
    assert type(metric) is ClasswiseVOCMetric
    # MMDetection's own name is still its own class.
    assert METRICS.get('VOCMetric') is not ClasswiseVOCMetric
