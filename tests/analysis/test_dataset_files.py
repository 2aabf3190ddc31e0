"""dataset_files: what a dataset config reads, found or named before
MMDetection reads it (fit_to_data's checks, tested through the tool in
test_fit_to_data.py)."""

import os.path as osp

from mmdet_libra_ext.analysis import dataset_files as F

CLASSES = ('RBC', 'WBC', 'Platelets')


def _voc(root, split='train', **kw):
    return dict(
        type='VOCDataset',
        data_root=root,
        ann_file=f'ImageSets/Main/{split}.txt',
        data_prefix=dict(sub_data_root=''),
        metainfo=dict(classes=kw.pop('classes', CLASSES)),
        **kw,
    )


def test_leaves_under_every_wrapper():
    a, b, c = (dict(type='VOCDataset', ann_file=x) for x in 'abc')
    nested = dict(
        type='ConcatDataset',
        datasets=[
            dict(type='RepeatDataset', times=2, dataset=a),
            b,
            dict(type='ClassBalancedDataset', oversample_thr=0.1, dataset=c),
        ],
    )
    assert F.leaf_configs(nested) == [a, b, c]


def test_missing_roots_and_lists_local_only(bccd_like_root, tmp_path):
    assert F.missing_files(_voc(bccd_like_root)) == []
    nowhere = str(tmp_path / 'nowhere')
    assert F.missing_files(_voc(nowhere)) == [
        f'data_root {nowhere!r} is not a folder'
    ]
    lacking = _voc(bccd_like_root, 'valid')
    path = osp.join(bccd_like_root, 'ImageSets/Main/valid.txt')
    assert F.missing_files(lacking) == [
        f"ann_file 'ImageSets/Main/valid.txt' is not a file ({path})"
    ]
    # An absolute ann_file is not joined to data_root (mmengine's rule).
    absolute = dict(lacking, ann_file=path[:-9] + 'train.txt')
    assert F.missing_files(absolute) == []
    # Read through a storage backend or a URL: not checked here.
    remote = dict(lacking, backend_args=dict(backend='petrel'))
    assert F.missing_files(remote) == []
    assert F.missing_files(_voc('s3://bucket/voc/', 'valid')) == []
