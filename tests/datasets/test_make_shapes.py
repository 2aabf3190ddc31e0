import hashlib
import json
import os
import os.path as osp

import numpy as np
import pytest
from pycocotools.coco import COCO

from mmdet_libra_ext.datasets.make_shapes import (
    SHAPES_CLASSES,
    main,
    make_shapes,
)


def _digest(root):
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            with open(osp.join(dirpath, name), 'rb') as f:
                h.update(name.encode() + f.read())
    return h.hexdigest()


def test_deterministic_for_a_seed(tmp_path):
    make_shapes(str(tmp_path / 'a'), num_train=12, num_val=4, seed=3)
    make_shapes(str(tmp_path / 'b'), num_train=12, num_val=4, seed=3)
    make_shapes(str(tmp_path / 'c'), num_train=12, num_val=4, seed=4)
    assert _digest(tmp_path / 'a') == _digest(tmp_path / 'b')
    assert _digest(tmp_path / 'a') != _digest(tmp_path / 'c')


def test_valid_coco_with_the_promised_variety(tmp_path):
    files = make_shapes(str(tmp_path), num_train=120, num_val=10, seed=0)
    coco = COCO(files['train'])
    cats = coco.loadCats(coco.getCatIds())
    assert [c['name'] for c in cats] == list(SHAPES_CLASSES)
    assert len(coco.getImgIds()) == 120
    sizes, per_image = [], []
    for img_id in coco.getImgIds():
        info = coco.loadImgs(img_id)[0]
        assert osp.isfile(osp.join(tmp_path, 'train', info['file_name']))
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
        per_image.append(len(anns))
        for a in anns:
            x, y, w, h = a['bbox']
            assert w > 0 and h > 0
            assert 0 <= x and x + w <= info['width'] + 1e-6
            assert 0 <= y and y + h <= info['height'] + 1e-6
            assert a['iscrowd'] == 0 and a['area'] > 0
            sizes.append(max(w, h))
    sizes = np.array(sizes)
    assert sizes.min() < 12 and sizes.max() > 90  # tiny to large
    assert 0 in per_image  # images without any object
    assert max(per_image) >= 5  # clutter
    labels = [a['category_id'] for a in coco.dataset['annotations']]
    assert set(labels) == {1, 2, 3, 4}
    # Some objects overlap.
    overlaps = 0
    for img_id in coco.getImgIds():
        boxes = [a['bbox'] for a in coco.loadAnns(coco.getAnnIds(img_id))]
        for i in range(len(boxes)):
            for j in range(i):
                (x0, y0, w0, h0), (x1, y1, w1, h1) = boxes[i], boxes[j]
                if min(x0 + w0, x1 + w1) > max(x0, x1) and min(
                    y0 + h0, y1 + h1
                ) > max(y0, y1):
                    overlaps += 1
    assert overlaps > 0
    # The val split is a different draw.
    val = json.load(open(files['val']))
    assert val['info']['seed'] == 1


def test_cli_and_bad_arguments(tmp_path):
    main([str(tmp_path), '--num-train', '2', '--num-val', '1'])
    assert osp.isfile(tmp_path / 'annotations' / 'instances_val.json')
    with pytest.raises(ValueError, match='num_train'):
        make_shapes(str(tmp_path), num_train=-1)
    with pytest.raises(ValueError, match='img_size'):
        make_shapes(str(tmp_path), img_size=8)


def _boxes_xyxy(coco, img_id):
    return np.array(
        [
            [x, y, x + w, y + h]
            for x, y, w, h in (
                a['bbox'] for a in coco.loadAnns(coco.getAnnIds(imgIds=img_id))
            )
        ]
    )


def test_crowded_variant_differs_as_promised(tmp_path):
    """Other classes, small objects, crowded and overlapping: a transfer
    target unlike the shapes dataset; deterministic too."""
    from mmdet_libra_ext.datasets.make_shapes import CROWDED_CLASSES

    files = make_shapes(
        str(tmp_path / 'a'), num_train=20, num_val=2, seed=0, variant='crowded'
    )
    make_shapes(
        str(tmp_path / 'b'), num_train=20, num_val=2, seed=0, variant='crowded'
    )
    assert _digest(tmp_path / 'a') == _digest(tmp_path / 'b')
    coco = COCO(files['train'])
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == list(
        CROWDED_CLASSES
    )
    assert not set(CROWDED_CLASSES) & set(SHAPES_CLASSES)
    per_image = [len(coco.getAnnIds(imgIds=i)) for i in coco.getImgIds()]
    assert min(per_image) >= 10 and np.mean(per_image) > 20
    sides = np.array([max(a['bbox'][2:]) for a in coco.dataset['annotations']])
    assert sides.max() <= 43 and np.median(sides) < 20  # 5..40 px objects
    assert {a['category_id'] for a in coco.dataset['annotations']} == {
        1,
        2,
        3,
        4,
        5,
    }
    # Overlapping instances, none by more than IoU 0.5.
    import torch
    from mmdet.structures.bbox import bbox_overlaps

    most = 0.0
    for img_id in coco.getImgIds():
        b = torch.tensor(_boxes_xyxy(coco, img_id), dtype=torch.float32)
        iou = bbox_overlaps(b, b).fill_diagonal_(0)
        most = max(most, float(iou.max()))
    assert 0.3 < most <= 0.5 + 1e-4


def test_unknown_variant(tmp_path):
    with pytest.raises(ValueError, match="'dense'"):
        make_shapes(str(tmp_path), variant='dense')
    main(
        [
            str(tmp_path / 'c'),
            '--variant',
            'crowded',
            '--num-train',
            '1',
            '--num-val',
            '1',
        ]
    )
    ann = json.load(
        open(tmp_path / 'c' / 'annotations' / 'instances_train.json')
    )
    assert ann['categories'][0]['name'] == 'star'
