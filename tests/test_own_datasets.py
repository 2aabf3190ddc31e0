"""The own-dataset evidence in the lab: the NEON tree crowns laid out as
VOC from the deepforest wheel's files, the plan's variants pointed at their
data, and a run that keeps its best checkpoint recorded at that
checkpoint's validation."""

import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from experiments import own_datasets as O
from experiments import plans as P
from experiments.store import read_run


def test_tile_boxes_by_hand():
    boxes = [(10, 10, 50, 50), (390, 10, 430, 50), (370, 10, 410, 50)]
    # Inside; a quarter inside (10 of 40 px wide): left to the next
    # tile; three quarters inside: kept, clipped.
    assert O.tile_boxes(boxes, 0, 0, 400) == [
        (10, 10, 50, 50),
        (370, 10, 400, 50),
    ]
    assert O.tile_boxes(boxes, 400, 0, 400) == [(0, 10, 30, 50)]


def _source(tmp_path):
    """Stand-ins for the wheel's files: a 900 x 850 image with boxes in a
    grid, and the three test images."""
    src = tmp_path / 'data'
    src.mkdir()
    rng = np.random.default_rng(0)
    boxes = [
        (x, y, x + 30, y + 30)
        for x in range(20, 880, 60)
        for y in range(20, 820, 60)
    ]
    cv2.imwrite(
        str(src / f'{O.TRAIN_IMAGE}.png'),
        rng.integers(0, 255, (850, 900, 3), dtype=np.uint8),
    )
    O.write_voc(
        str(src / f'{O.TRAIN_IMAGE}.xml'),
        O.TRAIN_IMAGE,
        (900, 850),
        boxes,
        'Tree',
    )
    for name in O.TEST_IMAGES:
        cv2.imwrite(
            str(src / f'{name}.png'),
            rng.integers(0, 255, (400, 400, 3), dtype=np.uint8),
        )
        O.write_voc(
            str(src / f'{name}.xml'),
            name,
            (400, 400),
            [(5, 5, 40, 40)],
            'Dead',
        )
    return str(src)


def test_neon_trees_layout_reads_as_voc(tmp_path):
    out = str(tmp_path / 'neon')
    # 900 x 850 in 400 px tiles: 2 x 2, every fifth to val (none of 4).
    counts = O.neon_trees(_source(tmp_path), out)
    assert counts == {'train': 4, 'val': 0, 'test': 3}
    from mmdet.datasets import VOCDataset

    ds = VOCDataset(
        data_root=out + '/',
        ann_file='ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root=''),
        metainfo=dict(classes=('Tree',)),
        test_mode=True,
        pipeline=[],
    )
    # The SOAP site's 'Alive'/'Dead' are trees.
    assert len(ds) == 3
    assert all(
        i['bbox_label'] == 0
        for k in range(3)
        for i in ds.get_data_info(k)['instances']
    )


def test_the_plan_points_each_recipe_at_its_data():
    neon = P.dataset_options(P.NEON + 'adaptive')
    assert 'train_dataloader.dataset.data_root=data/neon_trees/' in neon
    assert 'test_dataloader.dataset.metainfo.classes=[Tree]' in neon
    assert neon[-1] == 'model.roi_head.bbox_head.num_classes=1'
    # The BCCD recipe on NEON: the same data options, the BCCD schedule.
    assert P.dataset_options(P.NEON + 'BCCD recipe') == neon
    assert P.default_epochs(P.NEON + 'BCCD recipe') == 24
    # The adaptive recipe: its own iteration schedule and best checkpoint.
    assert P.is_iter_based(P.NEON + 'adaptive')
    assert P.default_epochs(P.NEON + 'adaptive') == 0
    assert P.best_metric(P.NEON + 'adaptive') == 'voc12/mAP'
    assert P.own_data(P.BCCD + 'adaptive') == (P.BCCD_ROOT, P.BCCD_CLASSES)
    assert P.dataset_options(P.BCCD + 'baseline') == []
    rows = [r for stage in P.PLANS['own'] for r in stage]
    own = [
        P.NEON + 'adaptive, photometric distortion',
        P.NEON + 'Libra, adaptive',
    ]
    assert {r[0] for r in rows} == {
        P.NEON + 'BCCD recipe',
        P.NEON + 'adaptive',
        P.BCCD + 'adaptive',
        *own,
    }
    # The recipe's variants train on NEON's data with its schedule.
    for v in own:
        assert P.dataset_options(v) == neon
        assert P.VARIANTS[v].startswith(P.OWN_FOLDERS)
        assert P.is_iter_based(v) and P.best_metric(v) == 'voc12/mAP'


def test_a_run_that_keeps_its_best_is_recorded_at_it(tmp_path):
    log = tmp_path / '20260101_000000' / 'vis_data'
    log.mkdir(parents=True)
    rows = [dict(loss=1.0, time=0.5, iter=i, step=i) for i in range(1, 7)]
    for step, ap in ((2, 0.3), (4, 0.5), (6, 0.4)):
        rows.append(
            {
                'coco/bbox_mAP': ap / 2,
                'voc12/mAP': ap,
                'step': step,
                **{
                    f'coco/{m}': 0.0
                    for m in (
                        'bbox_mAP_50',
                        'bbox_mAP_75',
                        'bbox_mAP_s',
                        'bbox_mAP_m',
                        'bbox_mAP_l',
                    )
                },
            }
        )
    with open(log / 'scalars.json', 'w') as f:
        f.write('\n'.join(json.dumps(r) for r in rows))
    best = read_run(str(tmp_path), True, 'voc12/mAP')
    assert best['voc12/mAP'] == 0.5 and best['best_iter'] == 4
    assert best['bbox_mAP'] == 0.25
    # Every validation, for the checkpoint another metric would have kept.
    assert best['val_curve'] == [
        {'iter': i, 'voc12/mAP': ap, 'coco/bbox_mAP': ap / 2}
        for i, ap in ((2, 0.3), (4, 0.5), (6, 0.4))
    ]
    last = read_run(str(tmp_path), True)
    assert last['voc12/mAP'] == 0.4 and 'best_iter' not in last
    assert [v['coco/bbox_mAP'] for v in last['val_curve']] == [
        0.15,
        0.25,
        0.2,
    ]
    assert os.path.isdir(osp.dirname(str(log)))
    # Evaluations logged at epoch 0 (an iteration loop's default) overwrite
    # each other: the best cannot be read, and the run says so.
    with open(log / 'scalars.json', 'w') as f:
        f.write(
            '\n'.join(
                json.dumps(dict(r, step=0))
                if 'voc12/mAP' in r
                else json.dumps(r)
                for r in rows
            )
        )
    with pytest.raises(RuntimeError, match='log_metric_by_epoch=False'):
        read_run(str(tmp_path), True, 'voc12/mAP')


def test_a_missing_dataset_is_named(tmp_path, monkeypatch):
    from experiments.runner import prepare

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match='experiments.own_datasets'):
        prepare({P.NEON + 'adaptive'}, None)


def _voc_split(root, name, classes):
    from mmdet.datasets import VOCDataset

    return VOCDataset(
        data_root=root + '/',
        ann_file=f'ImageSets/Main/{name}.txt',
        data_prefix=dict(sub_data_root=''),
        metainfo=dict(classes=classes),
        test_mode=True,
        pipeline=[],
    )


def test_raccoons_layout_keeps_the_repositorys_test_split(tmp_path):
    """experiments.own_datasets raccoons on a stand-in of the repository's
    files: its test table is the test split, every fifth training image
    validation; an annotation naming another class is refused."""
    src = tmp_path / 'raccoon_dataset'
    for sub in ('images', 'annotations', 'data'):
        (src / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    tables = {'train': [], 'test': []}
    for k in range(12):
        name = f'raccoon-{k}'
        split = 'test' if k >= 10 else 'train'
        cv2.imwrite(
            str(src / 'images' / f'{name}.jpg'),
            rng.integers(0, 255, (120, 160, 3), dtype=np.uint8),
        )
        # Two objects in the first image: one table row each.
        boxes = [(10, 10, 90, 100)] + ([(100, 5, 150, 60)] if k == 0 else [])
        O.write_voc(
            str(src / 'annotations' / f'{name}.xml'),
            name,
            (160, 120),
            boxes,
            'raccoon',
        )
        tables[split] += [f'{name}.jpg,160,120,raccoon,1,2,3,4'] * len(boxes)
    for split, rows in tables.items():
        (src / 'data' / f'{split}_labels.csv').write_text(
            'filename,width,height,class,xmin,ymin,xmax,ymax\n'
            + '\n'.join(rows)
            + '\n'
        )
    out = str(tmp_path / 'raccoons')
    assert O.raccoons(str(src), out) == {'train': 8, 'val': 2, 'test': 2}

    def split(name):
        return _voc_split(out, name, ('raccoon',))

    test = split('test')
    assert sorted(test.get_data_info(k)['img_id'] for k in range(2)) == [
        'raccoon-10',
        'raccoon-11',
    ]
    # The 10 training images sorted by file name, every fifth to val.
    val = split('val')
    assert len(val) == 2
    first = split('train')
    boxes = {
        first.get_data_info(k)['img_id']: first.get_data_info(k)['instances']
        for k in range(len(first))
    }
    # Both objects kept (VOCDataset reads VOC's 1-based pixels: -1).
    assert [i['bbox'] for i in boxes['raccoon-0']] == [
        [9, 9, 89, 99],
        [99, 4, 149, 59],
    ]
    O.write_voc(
        str(src / 'annotations' / 'raccoon-3.xml'),
        'raccoon-3',
        (160, 120),
        [(1, 1, 9, 9)],
        'dog',
    )
    with pytest.raises(ValueError, match=r"raccoon-3.xml names \['dog'\]"):
        O.raccoons(str(src), str(tmp_path / 'again'))


def test_fruits_layout_keeps_each_objects_class(tmp_path):
    """experiments.own_datasets fruits on a stand-in of the dataset's
    folders: the test folder is the test split, every fourth training
    photo validation; each object keeps its own class in a mixed photo; a
    size of 0 in the source annotation is replaced by the image's; an
    unknown class and a name taken twice are refused."""
    src = tmp_path / 'fruit_images'
    rng = np.random.default_rng(0)
    train = src / 'train_zip' / 'train'
    test = src / 'test_zip' / 'test'
    train.mkdir(parents=True)
    test.mkdir(parents=True)

    def photo(folder, name, boxes, labels, size=(160, 120)):
        cv2.imwrite(
            str(folder / f'{name}.jpg'),
            rng.integers(0, 255, (120, 160, 3), dtype=np.uint8),
        )
        O.write_voc(str(folder / f'{name}.xml'), name, size, boxes, labels)

    for k in range(7):
        photo(train, f'apple_{k}', [(10, 10, 60, 70)], 'apple', (0, 0))
    photo(
        train,
        'mixed_1',
        [(5, 5, 50, 50), (60, 5, 100, 50), (10, 60, 150, 110)],
        ['orange', 'apple', 'banana'],
    )
    photo(test, 'banana_80', [(1, 2, 30, 40)], 'banana')
    photo(
        test, 'mixed_9', [(1, 2, 30, 40), (40, 2, 90, 40)], ['orange', 'apple']
    )
    out = str(tmp_path / 'fruits')
    assert O.fruits(str(src), out) == {'train': 6, 'val': 2, 'test': 2}
    # Sorted by file name: apple_0 .. apple_6, mixed_1; every fourth.
    val = _voc_split(out, 'val', O.FRUITS)
    assert sorted(val.get_data_info(k)['img_id'] for k in range(2)) == [
        'apple_3',
        'mixed_1',
    ]
    mixed = next(
        val.get_data_info(k)
        for k in range(2)
        if val.get_data_info(k)['img_id'] == 'mixed_1'
    )
    # VOCDataset reads VOC's 1-based pixels (-1); classes in O.FRUITS
    # order: apple 0, banana 1, orange 2.
    assert [(i['bbox'], i['bbox_label']) for i in mixed['instances']] == [
        ([4, 4, 49, 49], 2),
        ([59, 4, 99, 49], 0),
        ([9, 59, 149, 109], 1),
    ]
    first = _voc_split(out, 'train', O.FRUITS).get_data_info(0)
    assert (first['width'], first['height']) == (160, 120)
    photo(train, 'apple_2', [(1, 1, 9, 9)], 'pear')
    with pytest.raises(ValueError, match=r"apple_2.xml names \['pear'\]"):
        O.fruits(str(src), str(tmp_path / 'again'))
    photo(train, 'apple_2', [(1, 1, 9, 9)], 'apple')
    photo(test, 'apple_0', [(1, 1, 9, 9)], 'apple')
    with pytest.raises(ValueError, match='both be apple_0.jpg'):
        O.fruits(str(src), str(tmp_path / 'again'))
    with pytest.raises(ValueError, match='2 boxes but 1 labels'):
        O.write_voc(
            str(tmp_path / 'x.xml'), 'x', (9, 9), [(1, 1, 2, 2)] * 2, ['a']
        )


def test_the_fruits_variants_read_their_data():
    opts = P.dataset_options(P.FRUITS + 'pretrained')
    assert 'train_dataloader.dataset.data_root=data/fruits/' in opts
    assert (
        'test_dataloader.dataset.metainfo.classes=[apple,banana,orange]'
        in opts
    )
    assert opts[-1] == 'model.roi_head.bbox_head.num_classes=3'
    assert P.OWN_DATA[P.FRUITS][1] == O.FRUITS
    assert P.fine_tunes_imagenet(P.FRUITS + 'pretrained')
    assert not P.fine_tunes_imagenet(P.FRUITS + 'adaptive')


def test_the_raccoons_variants_read_their_data():
    opts = P.dataset_options(P.RACCOONS + 'pretrained')
    assert 'train_dataloader.dataset.data_root=data/raccoons/' in opts
    assert 'val_dataloader.dataset.metainfo.classes=[raccoon]' in opts
    assert P.fine_tunes_imagenet(P.RACCOONS + 'pretrained')
    assert not P.fine_tunes_imagenet(P.RACCOONS + 'adaptive')
    assert P.work_tag(P.RACCOONS + 'pretrained') == (
        'raccoons_faster-rcnn_mobilenetv2_fpn_adaptive-voc'
    )


def test_the_methods_on_the_fine_tuned_recipe_read_their_data():
    """Issue #51's variants: each dataset's, the one-stage detectors' class
    count set on their own head; none in the demo table's default run."""
    rows = [r for stage in P.PLANS['pretrained-methods'] for r in stage]
    assert {r[0] for r in rows} == {
        f'{prefix}pretrained, {label}'
        for prefix in (P.BCCD, P.NEON, P.RACCOONS)
        for label in P.PRETRAINED_METHODS
    }
    retina = P.dataset_options(P.NEON + 'pretrained, Libra RetinaNet')
    assert retina[-1] == 'model.bbox_head.num_classes=1'
    libra = P.dataset_options(P.RACCOONS + 'pretrained, Libra')
    assert libra[-1] == 'model.roi_head.bbox_head.num_classes=1'
    assert all(P.fine_tunes_imagenet(r[0]) for r in rows)
    # One whole method per stage on the three datasets, in the order of
    # PRETRAINED_WHOLE_METHODS; the components alone on BCCD (where Libra
    # as a whole differed) after the first three (Libra, ALWA, RetinaNet),
    # on the other datasets last.
    stages = P.PLANS['pretrained-methods']
    whole, alone = set(P.PRETRAINED_WHOLE_METHODS), []
    assert whole < set(P.PRETRAINED_METHODS)
    assert len(stages) == len(whole) + 2
    assert {r[0].split('pretrained, ')[0] for r in stages[3]} == {P.BCCD}
    assert not {r[0] for r in stages[-1]} & {r[0] for r in stages[3]}
    assert not {r[0].split('pretrained, ')[1] for r in stages[3]} & whole
    whole_stages = stages[:3] + stages[4:-1]
    for label, stage in zip(
        P.PRETRAINED_WHOLE_METHODS, whole_stages, strict=True
    ):
        assert [r[0] for r in stage] == [
            f'{prefix}pretrained, {label}'
            for prefix in (P.BCCD, P.NEON, P.RACCOONS)
        ]
    assert not {r[0].split('pretrained, ')[1] for r in stages[-1]} & whole
    for variant, _, _, seeds in rows:
        assert len(seeds) == (5 if variant.startswith(P.BCCD) else 3)
        alone += [variant] * (variant.split('pretrained, ')[1] not in whole)
    assert len(alone) == 3 * 3
    assert not set(P.MAIN_VARIANTS) & set(P.VARIANTS) - {
        v for v in P.VARIANTS if not v.startswith((P.NEON, P.RACCOONS))
    }


@pytest.mark.parametrize(
    'plan, change, recipe',
    [
        ('pretrained-ema', 'EMA', 'adaptive-ema'),
        ('pretrained-scale-jitter', 'scale jitter', 'adaptive-scale-jitter'),
    ],
)
def test_the_recipe_changes_are_paired_with_the_recipes_rows(
    plan, change, recipe
):
    """A change of the fine-tuned recipe screened on every real dataset
    (the average of the weights, scale jitter), at the seeds of the
    recipe's own rows ('pretrained-v3'), so that every run has its pair;
    the datasets short of their targets first, the raccoons last."""
    rows = [r for stage in P.PLANS[plan] for r in stage]
    v3 = {r[0]: r[3] for r in P.PLANS['pretrained-v3'][0]}
    assert [r[0] for r in rows] == [
        prefix + 'pretrained, ' + change
        for prefix in (P.FRUITS, P.NEON, P.BCCD, P.RACCOONS)
    ]
    for variant, label, options, seeds in rows:
        prefix = variant.split('pretrained, ')[0]
        assert seeds == v3[prefix + 'pretrained']
        assert (label, options) == (None, [])
        assert P.dataset_options(variant) == P.dataset_options(
            prefix + 'pretrained'
        )
        assert P.fine_tunes_imagenet(variant)
        assert P.VARIANTS[variant].endswith(f'_{recipe}-voc.py')


def test_the_fine_tuned_recipes_option_rows_change_what_they_name():
    """The fine-tuned recipe's option rows ('pretrained-recipe', the first
    setting's rows of 'pretrained', the second's of 'pretrained-v2'),
    merged into the recipe's config as tools/train.py merges --cfg-options:
    each reads the same whatever the config's own setting (every row names
    its learning rate, the backbone's multiplier, its frozen stages and
    iterations, the cosine schedule ending there), the flip row edits the
    RandomFlip step and nothing else."""
    from mmengine.config import Config, DictAction

    path = osp.join('configs', P.VARIANTS[P.FRUITS + 'pretrained'])

    def setting(opts):
        cfg = Config.fromfile(path)
        cfg.merge_from_dict(
            {
                k: DictAction._parse_iterable(v)
                for k, v in (o.split('=', 1) for o in opts)
            }
        )
        step = cfg.train_dataloader.dataset.pipeline[3]
        assert step.type == 'RandomFlip'
        optim = cfg.optim_wrapper
        mult = optim.paramwise_cfg.custom_keys.backbone.lr_mult
        iters = cfg.train_cfg.max_iters
        # The cosine schedule ends where training does.
        cosine = cfg.param_scheduler[1]
        assert cosine.type == 'CosineAnnealingLR'
        assert cosine.end == cosine.T_max == iters
        frozen = cfg.model.backbone.frozen_stages
        return (
            optim.optimizer.lr,
            mult,
            step.direction,
            step.prob,
            frozen,
            iters,
        )

    _, _, direction, prob, _, _ = setting([])
    assert direction != 'horizontal'
    expected = {
        # label: (lr, backbone lr_mult, flip direction, flip prob,
        #         frozen stages, iterations)
        P.FT_WHOLE: (1e-3, 1.0, direction, prob, 1, 600),
        P.FT_LR2: (2e-3, 1.0, direction, prob, 1, 600),
        P.FT_HFLIP: (1e-3, 1.0, 'horizontal', 0.5, 1, 600),
        P.FT_BACKBONE_TENTH: (2e-3, 0.1, direction, prob, 1, 600),
        P.FT_BACKBONE_LR_TENTH: (1e-3, 0.1, direction, prob, 1, 600),
        P.FT_FROZEN4: (2e-3, 0.1, direction, prob, 4, 600),
        P.FT_FROZEN4_LONG: (2e-3, 0.1, direction, prob, 4, 1000),
        P.FT_FROZEN2: (2e-3, 0.1, direction, prob, 2, 800),
    }
    # The config's own setting is the one chosen.
    assert setting([]) == expected[P.FT_FROZEN4_LONG]
    rows = [
        r
        for plan in (
            'pretrained',
            'pretrained-recipe',
            'pretrained-v2',
            'pretrained-frozen2',
        )
        for stage in P.PLANS[plan]
        for r in stage
        if r[1] is not None
    ]
    assert {r[1] for r in rows} == set(expected)
    for variant, label, opts, _ in rows:
        assert variant.endswith(': pretrained'), variant
        assert opts == P.FT_OPTIONS[label]
        assert opts == list(dict.fromkeys(opts)), 'an option given twice'
        assert setting(opts) == expected[label], label
