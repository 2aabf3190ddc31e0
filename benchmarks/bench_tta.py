"""Merging test-time-augmentation views: this package's weighted boxes
fusion against MMDetection's (``mmdet.models.utils.weighted_boxes_fusion``,
MMDetection >= 3.3) on the same boxes, in one process, interleaved, with an
A/A control (MMDetection's against itself); and, for scale, the NMS merge of
MMDetection's ``DetTTAModel`` (other work: it keeps one box per group).

    python -m benchmarks.bench_tta [--repeats 15]

The views: 4 flips of a 640 x 480 image with 30 objects (a BCCD smear has
about 20), each view 100 boxes of 3 classes: the objects seen with a few
pixels of jitter, the rest clutter.
"""

import argparse

import numpy as np
import torch
from mmcv.ops import batched_nms

from benchmarks.common import print_table, time_ratio  # noqa: E402
from mmdet_libra_ext.models.test_time_augs import (  # noqa: E402
    weighted_boxes_fusion,
)

W, H = 640.0, 480.0


def make_views(num_views=4, objects=30, per_view=100, seed=0):
    """``num_views`` lists of (boxes in pixels, scores, labels)."""
    rng = np.random.default_rng(seed)
    obj = rng.uniform(
        [0, 0, 30, 30], [W - 160, H - 160, 160, 160], (objects, 4)
    )
    obj[:, 2:] += obj[:, :2]
    obj_labels = rng.integers(0, 3, objects)
    views = []
    for _ in range(num_views):
        boxes = obj + rng.normal(0, 3.0, obj.shape)
        clutter = rng.uniform(
            [0, 0, 10, 10],
            [W - 100, H - 100, 100, 100],
            (per_view - objects, 4),
        )
        clutter[:, 2:] += clutter[:, :2]
        boxes = np.concatenate([boxes, clutter])
        scores = np.concatenate(
            [
                rng.uniform(0.5, 1.0, objects),
                rng.uniform(0.05, 0.5, per_view - objects),
            ]
        )
        labels = np.concatenate(
            [obj_labels, rng.integers(0, 3, per_view - objects)]
        )
        views.append((boxes, scores, labels))
    return views


def cases(views):
    """The merges to time, on inputs prepared beforehand."""
    from mmdet.models.utils import weighted_boxes_fusion as mmdet_wbf

    scale = np.array([W, H, W, H])
    normed = (
        [b / scale for b, _, _ in views],
        [s for _, s, _ in views],
        [lab for _, _, lab in views],
    )
    cat = [torch.from_numpy(np.concatenate(x)).float() for x in zip(*views)]
    cat[2] = cat[2].long()
    nms_cfg = dict(type='nms', iou_threshold=0.5)
    return {
        'ours': lambda: weighted_boxes_fusion(*cat, num_views=len(views)),
        'mmdet': lambda: mmdet_wbf(*normed),
        'mmdet (A/A copy)': lambda: mmdet_wbf(*normed),
        'DetTTAModel NMS': lambda: batched_nms(*cat, nms_cfg),
    }


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeats', type=int, default=15)
    args = parser.parse_args(argv)
    try:
        from mmdet.models.utils import weighted_boxes_fusion  # noqa: F401
    except ImportError as err:
        raise SystemExit(
            'MMDetection < 3.3 has no weighted_boxes_fusion to compare with'
        ) from err
    print(
        f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
        f'median of {args.repeats} interleaved repeats'
    )
    t = time_ratio(cases(make_views()), repeats=args.repeats)
    rows = [
        ('4 views x 100 boxes: ours / mmdet', f'{t["ours"] / t["mmdet"]:.3f}'),
        (
            '4 views x 100 boxes: mmdet (A/A copy) / mmdet',
            f'{t["mmdet (A/A copy)"] / t["mmdet"]:.3f}',
        ),
        (
            '4 views x 100 boxes: ours / DetTTAModel NMS',
            f'{t["ours"] / t["DetTTAModel NMS"]:.1f}',
        ),
    ]
    print_table('Weighted boxes fusion, time ratios', rows)


if __name__ == '__main__':
    main()
