"""dataset_files: what a dataset config reads, found or named before
MMDetection reads it (fit_to_data's checks, tested through the tool in
test_fit_to_data.py)."""

import os
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


def test_a_voc_split_read_as_mmdetection_reads_it(bccd_like_root, tmp_path):
    """Ids listed, objects' names counted from the XML (zero-size boxes
    and unlisted classes included: they are what the config's classes
    would drop), and the .jpg and .xml paths VOCDataset will open."""
    import shutil

    from mmdet.registry import DATASETS
    from mmengine.registry import DefaultScope

    root = str(tmp_path / 'voc') + os.sep
    shutil.copytree(bccd_like_root, root)

    def split(**kw):
        with DefaultScope.overwrite_default_scope('mmdet'):
            ds = DATASETS.build(dict(_voc(root, **kw), lazy_init=True))
        return F.voc_split(ds)

    found = split(classes=('RBC',))
    assert found['ids'] == 4 and found['classes'] == ('RBC',)
    assert found['names'] == {'RBC': 14, 'WBC': 4, 'Platelets': 4}
    assert found['no_xml'] == [] and found['no_image'] == []
    assert found['zero_size'] == [] and found['bad_size'] == []
    first, second = (
        open(osp.join(root, 'ImageSets/Main/train.txt')).read().split()[:2]
    )
    # The first id's image at another extension (read by
    # ImageFileVOCDataset, not VOCDataset), its annotation gone; the
    # second's image gone.
    os.rename(
        osp.join(root, 'JPEGImages', f'{first}.jpg'),
        osp.join(root, 'JPEGImages', f'{first}.JPG'),
    )
    os.remove(osp.join(root, 'Annotations', f'{first}.xml'))
    os.remove(osp.join(root, 'JPEGImages', f'{second}.jpg'))
    found = split()
    jpg = osp.join(root, 'JPEGImages', f'{second}.jpg')
    assert found['no_image'] == [jpg]
    assert found['other_image'] == [
        osp.join(root, 'JPEGImages', f'{first}.JPG')
    ]
    assert found['no_xml'] == [osp.join(root, 'Annotations', f'{first}.xml')]
    assert sum(found['names'].values()) == 22 - 6  # its 6 objects unread
    said = F.split_problems(found, 'ImageSets/Main/train.txt')
    assert said == [
        '1 of the 4 ids listed in ImageSets/Main/train.txt have no '
        f'annotations (the first: {found["no_xml"][0]})',
        '1 of the 4 ids listed in ImageSets/Main/train.txt have no images '
        f'(the first: {jpg}), nor one at the <filename> of their '
        'annotation or with another image extension',
    ]


def test_other_formats_are_not_read_as_voc(tmp_path):
    class Coco:  # a built dataset without XMLDataset's subfolders
        ann_file = str(tmp_path / 'instances.json')

    assert F.voc_split(Coco()) is None
