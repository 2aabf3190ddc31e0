"""ImageFileVOCDataset against MMDetection's VOCDataset on the same files:
what MMDetection does with a ``<width>0</width>`` annotation (keeps the 0,
drops the image from training) and with an image that is not
``<id>.jpg`` (looks for ``<id>.jpg``), what ours does instead (the image's
own size, read by OpenCV; the image where it is), and nothing else
different."""

import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
from mmdet.registry import DATASETS
from mmengine.registry import DefaultScope

CLASSES = ('RBC', 'WBC', 'Platelets')


def _zero_size(root, name):
    """Write a size of 0 x 0 into ``name``'s annotation, as LabelImg does
    for an image it could not measure."""
    path = osp.join(root, 'Annotations', f'{name}.xml')
    text = open(path).read()
    text = text.replace('<width>640</width>', '<width>0</width>')
    text = text.replace('<height>480</height>', '<height>0</height>')
    open(path, 'w').write(text)


def _build(kind, root, test_mode=False, pipeline=()):
    cfg = dict(
        type=kind,
        data_root=root,
        ann_file='ImageSets/Main/train.txt',
        data_prefix=dict(sub_data_root=''),
        metainfo=dict(classes=CLASSES),
        filter_cfg=dict(filter_empty_gt=not test_mode, min_size=32),
        test_mode=test_mode,
        pipeline=list(pipeline),
    )
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(cfg)


def _infos(dataset):
    """The data infos of a built dataset (its data list is serialised)."""
    return [dataset.get_data_info(i) for i in range(len(dataset))]


@pytest.fixture
def zero_size_root(bccd_like_root, tmp_path):
    """bccd_like_root's train split, its first image 0 x 0 in its
    annotation and re-saved at 320 x 240 (its boxes scaled), so that a
    size read from the image differs from the fixture's 640 x 480."""
    root = str(tmp_path / 'voc') + os.sep
    shutil.copytree(bccd_like_root, root)
    first = open(osp.join(root, 'ImageSets/Main/train.txt')).read().split()[0]
    img = cv2.imread(osp.join(root, 'JPEGImages', f'{first}.jpg'))
    cv2.imwrite(
        osp.join(root, 'JPEGImages', f'{first}.jpg'),
        cv2.resize(img, (320, 240)),
    )
    _zero_size(root, first)
    return root, first


def test_mmdetection_drops_a_zero_size_image_and_ours_reads_it(
    zero_size_root,
):
    root, first = zero_size_root
    theirs = _build('VOCDataset', root)
    ours = _build('mmdet_libra_ext.ImageFileVOCDataset', root)
    # MMDetection: the 0 kept, the image filtered out of training.
    assert [d['img_id'] for d in _infos(theirs)].count(first) == 0
    assert len(theirs) == 3 and len(ours) == 4
    mine = next(d for d in _infos(ours) if d['img_id'] == first)
    assert (mine['width'], mine['height']) == (320, 240)
    # In test mode neither filters; MMDetection's reads 0.
    theirs_all = _build('VOCDataset', root, test_mode=True)
    zero = next(d for d in _infos(theirs_all) if d['img_id'] == first)
    assert (zero['width'], zero['height']) == (0, 0)
    # Everything else as MMDetection reads it.
    for d in _infos(theirs_all):
        o = next(x for x in _infos(ours) if x['img_id'] == d['img_id'])
        keys = set(d) - {'width', 'height'}
        assert {k: o[k] for k in keys if k != 'instances'} == {
            k: d[k] for k in keys if k != 'instances'
        }
        assert o['instances'] == d['instances']
        if d['img_id'] != first:
            assert (o['width'], o['height']) == (d['width'], d['height'])


def test_the_image_decoded_as_mmdetection_decodes_it(zero_size_root):
    """A PNG named .jpg with an alpha channel (as photo datasets hold):
    the size OpenCV decodes, as for an annotation without <size>."""
    root, first = zero_size_root
    rgba = np.zeros((50, 70, 4), np.uint8)
    path = osp.join(root, 'JPEGImages', f'{first}.jpg')
    ok, png = cv2.imencode('.png', rgba)
    assert ok
    open(path, 'wb').write(png.tobytes())
    ours = _build('mmdet_libra_ext.ImageFileVOCDataset', root)
    mine = next(d for d in _infos(ours) if d['img_id'] == first)
    assert (mine['width'], mine['height']) == (70, 50)


def test_an_image_that_cannot_be_decoded_is_named(zero_size_root):
    root, first = zero_size_root
    path = osp.join(root, 'JPEGImages', f'{first}.jpg')
    open(path, 'wb').write(b'not an image')
    with pytest.raises(ValueError, match=f'{first}.jpg cannot be decoded'):
        _build('mmdet_libra_ext.ImageFileVOCDataset', root)


def test_the_size_is_read_as_the_pipeline_decodes_the_image(zero_size_root):
    """A photo stored 70 x 50 with the EXIF orientation 6 (a quarter
    turn): under MMDetection's loader (which turns it) its size is 50 x
    70; under a loader that ignores the orientation (what fit_to_data
    writes where the boxes were drawn on the stored pixels) 70 x 50, the
    pixels that pipeline trains on."""
    from PIL import Image

    root, first = zero_size_root
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new('RGB', (70, 50)).save(
        osp.join(root, 'JPEGImages', f'{first}.jpg'), exif=exif.tobytes()
    )
    kind = 'mmdet_libra_ext.ImageFileVOCDataset'
    for color_type, size in (
        ('color', (50, 70)),
        ('color_ignore_orientation', (70, 50)),
    ):
        load = dict(type='LoadImageFromFile', color_type=color_type)
        ours = _build(kind, root, pipeline=[load])
        info = next(d for d in _infos(ours) if d['img_id'] == first)
        assert (info['width'], info['height']) == size, color_type
        assert ours[_infos(ours).index(info)]['img_shape'] == size[::-1]


def _set_filename(root, name, filename):
    """Write ``filename`` as ``name``'s annotation's <filename>."""
    import re

    path = osp.join(root, 'Annotations', f'{name}.xml')
    text = open(path).read()
    if '<filename>' in text:
        text = re.sub(
            r'<filename>[^<]*</filename>',
            f'<filename>{filename}</filename>',
            text,
        )
    else:
        text = text.replace(
            '<annotation>', f'<annotation><filename>{filename}</filename>', 1
        )
    open(path, 'w').write(text)


def test_images_at_other_names_are_found_where_mmdetection_looks_for_jpg(
    bccd_like_root, tmp_path
):
    """The first training image saved as PNG under another name, which
    its annotation's <filename> gives (with a folder: its base name is
    read in JPEGImages/); the
    second as <id>.jpeg with no <filename>: MMDetection's VOCDataset looks
    for <id>.jpg (its loader then fails); ours reads each where it is,
    pixel for pixel what the files hold, and everything else as
    MMDetection does."""
    from mmcv.transforms import LoadImageFromFile

    root = str(tmp_path / 'voc') + os.sep
    shutil.copytree(bccd_like_root, root)
    first, second = (
        open(osp.join(root, 'ImageSets/Main/train.txt')).read().split()[:2]
    )
    images = osp.join(root, 'JPEGImages')
    pixels = {}
    for name, new in ((first, 'scan 1.png'), (second, f'{second}.jpeg')):
        jpg = osp.join(images, f'{name}.jpg')
        cv2.imwrite(osp.join(images, new), cv2.imread(jpg))
        pixels[name] = cv2.imread(osp.join(images, new))
        os.remove(jpg)
    _set_filename(root, first, 'labelled/scan 1.png')
    _set_filename(root, second, '')
    theirs = _infos(_build('VOCDataset', root, test_mode=True))
    ours = _infos(_build('mmdet_libra_ext.ImageFileVOCDataset', root, True))
    assert [i['img_path'] for i in theirs[:2]] == [
        osp.join(images, f'{first}.jpg'),
        osp.join(images, f'{second}.jpg'),
    ]
    assert [i['img_path'] for i in ours[:2]] == [
        osp.join(images, 'scan 1.png'),
        osp.join(images, f'{second}.jpeg'),
    ]
    for a, b in zip(theirs, ours):
        assert {k: v for k, v in a.items() if k != 'img_path'} == {
            k: v for k, v in b.items() if k != 'img_path'
        }
    assert [a['img_path'] for a in theirs[2:]] == [
        b['img_path'] for b in ours[2:]
    ]
    load = LoadImageFromFile()
    for info, name in zip(ours, (first, second)):
        got = load(dict(img_path=info['img_path']))['img']
        assert np.array_equal(got, pixels[name])
    with pytest.raises(FileNotFoundError):
        load(dict(img_path=theirs[0]['img_path']))


def test_an_id_without_any_image_is_named_when_built(bccd_like_root, tmp_path):
    root = str(tmp_path / 'voc') + os.sep
    shutil.copytree(bccd_like_root, root)
    first = open(osp.join(root, 'ImageSets/Main/train.txt')).read().split()[0]
    os.remove(osp.join(root, 'JPEGImages', f'{first}.jpg'))
    with pytest.raises(FileNotFoundError) as err:
        _build('mmdet_libra_ext.ImageFileVOCDataset', root)
    msg = str(err.value)
    assert f"no image of id '{first}' in {root}JPEGImages" in msg
    assert f'neither {first}.jpg, the <filename> of ' in msg
    assert '.png' in msg
