"""voc_files: a VOC split read as MMDetection's XMLDataset will read it,
and what it cannot read or train named (fit_to_data's checks, tested
through the tool in test_fit_to_data.py)."""

import os
import os.path as osp
import shutil

import pytest

from mmdet_libra_ext.analysis import voc_files as V
from tests.analysis.test_dataset_files import _voc


def _split(root, **kw):
    from mmdet.registry import DATASETS
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmdet'):
        ds = DATASETS.build(dict(_voc(root, **kw), lazy_init=True))
    return V.voc_split(ds)


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
        return V.voc_split(ds)

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
    said = V.split_problems(found, 'ImageSets/Main/train.txt')
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

    assert V.voc_split(Coco()) is None


def test_boxes_mmdetection_cannot_train_are_named(bccd_like_root, tmp_path):
    """An object whose maximum is below its minimum (a box of negative
    size: its regression target the log of a negative number) or with a
    corner that is not a number (a crash inside MMDetection's reader) is
    named with its file; a box of size zero (the fixture's) is not (it is
    never a positive sample)."""
    import re

    from mmdet_libra_ext.analysis.fit_to_data import choose, fit_options
    from tests.analysis.test_fit_to_data import _load

    root = str(tmp_path / 'voc') + os.sep
    shutil.copytree(bccd_like_root, root)
    assert _split(root)['bad_box'] == []
    ids = open(osp.join(root, 'ImageSets/Main/train.txt')).read().split()
    xmls = [osp.join(root, 'Annotations', f'{i}.xml') for i in ids[:2]]
    text = open(xmls[0]).read()
    x1 = re.search('<xmin>([^<]*)</xmin>', text).group(1)
    x2 = re.search('<xmax>([^<]*)</xmax>', text).group(1)
    y1 = re.search('<ymin>([^<]*)</ymin>', text).group(1)
    y2 = re.search('<ymax>([^<]*)</ymax>', text).group(1)
    swapped = text.replace(f'<xmin>{x1}<', f'<xmin>{x2}<', 1).replace(
        f'<xmax>{x2}<', f'<xmax>{x1}<', 1
    )
    open(xmls[0], 'w').write(swapped)
    text = open(xmls[1]).read()
    broken = re.sub('<ymax>[^<]*<', '<ymax>n/a<', text, count=1)
    open(xmls[1], 'w').write(broken)
    found = _split(root)
    second = re.search(r'<bndbox>.*?</bndbox>', text, re.S).group(0)
    sx1, sy1, sx2 = (
        re.search(f'<{k}>([^<]*)<', second).group(1)
        for k in ('xmin', 'ymin', 'xmax')
    )
    assert found['bad_box'] == [
        f'{xmls[0]}: a box whose maximum is below its minimum: xmin {x2}, '
        f'xmax {x1}, ymin {y1}, ymax {y2}',
        f"{xmls[1]}: a <bndbox> without four numbers: xmin '{sx1}', "
        f"ymin '{sy1}', xmax '{sx2}', ymax 'n/a'",
    ]
    said = V.split_problems(found, 'ImageSets/Main/train.txt')
    assert said == [
        '2 objects of the annotations listed in ImageSets/Main/train.txt '
        'have a box MMDetection cannot train (the first: '
        f'{found["bad_box"][0]}): correct or remove them'
    ]
    cfg = _load(root=root)
    with pytest.raises(ValueError, match='train_dataloader: 2 objects'):
        choose(cfg, fit_options(cfg))
