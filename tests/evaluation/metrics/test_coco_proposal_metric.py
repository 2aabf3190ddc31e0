"""CocoProposalMetric: MMDetection's proposal recall (AR@N), on inputs where
MMDetection's own computation fails under numpy >= 1.24."""

import json

import numpy as np
import pytest
import torch
from mmdet.evaluation import CocoMetric
from mmdet.evaluation.functional import bbox_overlaps
from mmdet.evaluation.functional.recall import _recalls

from mmdet_libra_ext.evaluation import CocoProposalMetric, proposal_recalls

THRS = np.linspace(0.5, 0.95, 10)


def random_boxes(rng, n, size=100.0):
    xy = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(4, size / 2, (n, 2))
    return np.concatenate([xy, xy + wh], 1).astype(np.float32)


def reference(gts, props, nums, thrs):
    """MMDetection's greedy matching (its private ``_recalls``), fed the
    per-image IoU matrices as an object array, which ``eval_recalls`` itself
    can no longer build."""
    ious = np.empty(len(gts), dtype=object)
    for i, (g, p) in enumerate(zip(gts, props)):
        p = p[: max(nums)]
        ious[i] = (
            bbox_overlaps(g, p)
            if len(g) and len(p)
            else np.zeros((len(g), len(p)), dtype=np.float32)
        )
    return _recalls(ious, np.array(nums), np.array(thrs))


@pytest.mark.parametrize('seed', range(6))
def test_recalls_equal_mmdetection_greedy_matching(seed):
    rng = np.random.default_rng(seed)
    gts, props = [], []
    for i in range(7):
        g = random_boxes(rng, int(rng.integers(0, 9)))
        # Proposals near the ground truths (and exact copies: ties).
        near = np.repeat(g, 3, 0) + rng.normal(0, 3, (3 * len(g), 4))
        p = np.concatenate(
            [
                near.astype(np.float32),
                g[:2],
                random_boxes(rng, int(rng.integers(0, 40))),
            ]
        )
        rng.shuffle(p)
        gts.append(g)
        props.append(p if i != 3 else p[:0])  # one image without proposals
    nums = (1, 5, 20, 60)
    ours = proposal_recalls(gts, props, nums, THRS)
    assert ours.shape == (4, 10)
    np.testing.assert_array_equal(ours, reference(gts, props, nums, THRS))
    # More proposals never lower the recall, a higher IoU never raises it.
    assert (np.diff(ours, axis=0) >= 0).all()
    assert (np.diff(ours, axis=1) <= 0).all()


def test_recalls_by_hand():
    gt = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], dtype=np.float32)
    # The first proposal covers the first box exactly, the second one
    # overlaps the second box at IoU 0.64 (8x8 inside 10x10): the second
    # ground truth is recalled at 0.5 and 0.6 only, and only with 2.
    props = np.array([[0, 0, 10, 10], [21, 21, 29, 29]], dtype=np.float32)
    r = proposal_recalls([gt], [props], (1, 2), [0.5, 0.6, 0.7])
    np.testing.assert_allclose(r, [[0.5, 0.5, 0.5], [1, 1, 0.5]])
    # A fifth column is a score that orders the proposals.
    scored = np.concatenate([props, [[0.1], [0.9]]], 1)
    r = proposal_recalls([gt], [scored], (1,), [0.5, 0.7])
    np.testing.assert_allclose(r, [[0.5, 0]])


def test_bad_inputs_are_named():
    gt = [np.zeros((0, 4), np.float32)]
    with pytest.raises(ValueError, match='no ground-truth'):
        proposal_recalls(gt, [np.zeros((3, 4), np.float32)])
    with pytest.raises(ValueError, match='1 images .* 2 '):
        proposal_recalls(gt, gt + gt)
    with pytest.raises(ValueError, match='proposal_nums'):
        proposal_recalls(gt, gt, (0, 10))


def _coco_files(tmp_path, gts):
    images = [
        dict(id=i, file_name=f'{i}.png', width=100, height=100)
        for i in range(len(gts))
    ]
    anns = [
        dict(
            id=len(images) * 100 + k * 10 + j,
            image_id=k,
            category_id=1,
            bbox=[float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
            area=float((x2 - x1) * (y2 - y1)),
            iscrowd=0,
        )
        for k, g in enumerate(gts)
        for j, (x1, y1, x2, y2) in enumerate(g)
    ]
    path = tmp_path / 'ann.json'
    path.write_text(
        json.dumps(
            dict(
                images=images,
                annotations=anns,
                categories=[dict(id=1, name='object')],
            )
        )
    )
    return str(path)


def _evaluate(metric, props):
    metric.dataset_meta = dict(classes=('object',))
    for i, p in enumerate(props):
        metric.process(
            {},
            [
                dict(
                    img_id=i,
                    ori_shape=(100, 100),
                    pred_instances=dict(
                        bboxes=torch.from_numpy(p),
                        scores=torch.linspace(1, 0, len(p)),
                        labels=torch.zeros(len(p), dtype=torch.long),
                    ),
                )
            ],
        )
    return metric.evaluate(len(props))


def test_metric_is_mmdetection_where_mmdetection_runs(tmp_path):
    rng = np.random.default_rng(0)
    # As many ground truths and proposals in every image: the shapes numpy
    # still stacks, so MMDetection's own metric runs.
    gts = [random_boxes(rng, 3) for _ in range(4)]
    props = [
        np.concatenate(
            [
                g + rng.normal(0, 4, g.shape).astype(np.float32),
                random_boxes(rng, 17),
            ]
        )
        for g in gts
    ]
    ann = _coco_files(tmp_path, gts)
    kw = dict(ann_file=ann, metric='proposal_fast', proposal_nums=(1, 5, 20))
    ours = _evaluate(CocoProposalMetric(**kw), props)
    stock = _evaluate(CocoMetric(**kw), props)
    assert set(ours) == {'coco/AR@1', 'coco/AR@5', 'coco/AR@20'}
    assert ours == stock


def test_metric_runs_where_mmdetection_fails(tmp_path):
    rng = np.random.default_rng(1)
    gts = [random_boxes(rng, n) for n in (1, 4, 2)]
    props = [random_boxes(rng, n) for n in (30, 12, 50)]
    ann = _coco_files(tmp_path, gts)
    kw = dict(ann_file=ann, metric='proposal_fast', proposal_nums=(10, 100))
    with pytest.raises(ValueError, match='inhomogeneous'):
        _evaluate(CocoMetric(**kw), props)
    ours = _evaluate(CocoProposalMetric(**kw), props)
    expected = reference(gts, props, (10, 100), THRS).mean(1)
    assert ours == {'coco/AR@10': expected[0], 'coco/AR@100': expected[1]}


def test_registered_in_scope_only():
    from mmdet.registry import METRICS

    assert (
        METRICS.get('mmdet_libra_ext.CocoProposalMetric') is CocoProposalMetric
    )
    assert METRICS.get('CocoMetric') is CocoMetric


def test_metric_evaluates_a_subset_in_any_order(tmp_path):
    rng = np.random.default_rng(2)
    gts = [random_boxes(rng, n) for n in (1, 4, 2, 3)]
    props = [random_boxes(rng, 20) for _ in gts]
    ann = _coco_files(tmp_path, gts)
    metric = CocoProposalMetric(
        ann_file=ann, metric='proposal_fast', proposal_nums=(10,)
    )
    metric.dataset_meta = dict(classes=('object',))
    for i in (3, 1):
        metric.process(
            {},
            [
                dict(
                    img_id=i,
                    ori_shape=(100, 100),
                    pred_instances=dict(
                        bboxes=torch.from_numpy(props[i]),
                        scores=torch.ones(20),
                        labels=torch.zeros(20, dtype=torch.long),
                    ),
                )
            ],
        )
    expected = reference(
        [gts[3], gts[1]], [props[3], props[1]], (10,), THRS
    ).mean(1)
    assert metric.evaluate(2) == {'coco/AR@10': expected[0]}
