"""A COCO split read before MMDetection reads it (fit_to_data's checks):
the images missing or without a size, and the category names against the
config's classes, each named with its file."""

import json
import os
import os.path as osp
import shutil
from collections import Counter

import pytest

from tests.analysis.test_fit_to_data import OWN, _options

RECIPE = 'faster-rcnn_mobilenetv2_fpn_adaptive-coco.py'


def _recipe(root, **changes):
    from mmengine.config import Config

    import mmdet_libra_ext  # noqa: F401

    cfg = Config.fromfile(osp.join(OWN, RECIPE))
    cfg.merge_from_dict(dict(_options(root), **changes))
    return cfg


@pytest.fixture
def coco_copy(bccd_like_coco_root, tmp_path):
    root = str(tmp_path / 'coco') + '/'
    shutil.copytree(bccd_like_coco_root, root)
    return root


def _edit(root, split, edit):
    path = osp.join(root, 'annotations', f'instances_{split}.json')
    data = json.load(open(path))
    edit(data)
    with open(path, 'w') as f:
        json.dump(data, f)
    return data


def test_a_complete_split_reads_as_its_json_says(bccd_like_coco_root):
    from mmdet_libra_ext.analysis.dataset_files import check_data_files

    splits = check_data_files(_recipe(bccd_like_coco_root))
    assert set(splits) == {
        'train_dataloader',
        'val_dataloader',
        'test_dataloader',
    }
    (train,) = splits['train_dataloader']
    data = json.load(
        open(osp.join(bccd_like_coco_root, 'annotations/instances_train.json'))
    )
    names = {c['id']: c['name'] for c in data['categories']}
    want = Counter(names[a['category_id']] for a in data['annotations'])
    assert train['ids'] == len(data['images']) == 4
    assert train['names'] == want
    assert train['classes'] == ('RBC', 'WBC', 'Platelets')
    for key in ('no_image', 'bad_size', 'zero_size', 'other_image'):
        assert train[key] == [], key


def test_classes_left_unchanged_are_refused_naming_the_categories(
    bccd_like_coco_root,
):
    """The recipe's ('object',) on a COCO set: MMDetection keeps no box
    (a numpy error deep inside); refused naming the categories and their
    boxes."""
    from mmdet_libra_ext.analysis.fit_to_data import choose, fit_options

    cfg = _recipe(
        bccd_like_coco_root,
        **{
            f'{s}_dataloader.dataset.metainfo.classes': ('object',)
            for s in ('train', 'val', 'test')
        },
    )
    with pytest.raises(ValueError) as info:
        choose(cfg, fit_options(cfg))
    msg = str(info.value)
    assert "no training object has a class of the config's classes" in msg
    assert "('object',)" in msg and "'RBC' (" in msg and "'WBC' (" in msg


def test_a_missing_image_and_a_size_of_zero_are_named(coco_copy):
    from mmdet_libra_ext.analysis.fit_to_data import choose, fit_options

    first = sorted(os.listdir(osp.join(coco_copy, 'train')))[0]
    os.remove(osp.join(coco_copy, 'train', first))

    def zero_width(data):
        data['images'][0]['width'] = 0
        del data['images'][1]['height']

    def float_sizes(data):  # 640.0: MMDetection reads it as 640
        for image in data['images']:
            image['width'] = float(image['width'])

    data = _edit(coco_copy, 'val', zero_width)
    _edit(coco_copy, 'train', float_sizes)
    cfg = _recipe(coco_copy)
    with pytest.raises(ValueError) as info:
        choose(cfg, fit_options(cfg))
    msg = str(info.value)
    assert (
        'train_dataloader: 1 of the 4 images listed in '
        'annotations/instances_train.json are not there (the first: '
        f'{osp.join(coco_copy, "train", first)};'
    ) in msg
    image = data['images'][0]
    assert (
        f'val_dataloader: 2 of the {len(data["images"])} images listed in '
        'annotations/instances_val.json have no width and height above 0'
    ) in msg
    assert (
        f'image {image["id"]!r} ({image["file_name"]}): width 0, height '
        f'{image["height"]!r}'
    ) in msg
    assert 'in COCO layout' in msg
    assert 'instances_train.json have no width' not in msg


def test_a_split_read_through_a_backend_is_not_read_here(bccd_like_coco_root):
    """As missing_files leaves them: a split read through a storage
    backend or from a URL is not opened here (its JSON is no local
    file); the local splits still are."""
    from mmdet_libra_ext.analysis.dataset_files import check_data_files

    cfg = _recipe(bccd_like_coco_root)
    cfg.val_dataloader.dataset.data_root = 's3://bucket/coco/'
    cfg.test_dataloader.dataset.backend_args = dict(backend='petrel')
    splits = check_data_files(cfg)
    assert splits['val_dataloader'] == [] and splits['test_dataloader'] == []
    assert splits['train_dataloader'][0]['ids'] == 4
