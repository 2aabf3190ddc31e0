"""Photos with an EXIF orientation: fit_to_data tells from the annotations
on which pixels the boxes were drawn, and where they were drawn on the
stored (unturned) pixels the fitted config decodes ignoring the tag, so
that what MMDetection trains on is what was annotated."""

import os.path as osp

import pytest

from mmdet_libra_ext.analysis.image_orientation import (
    ignore_orientation,
    orientation_text,
    read_orientations,
)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIG = osp.join(
    ROOT,
    'configs',
    'own_dataset',
    'faster-rcnn_mobilenetv2_fpn_adaptive-voc.py',
)


def _photo(path, size, tag=None):
    """A JPEG of ``size`` (stored width, height), its EXIF orientation
    ``tag``; its left third red, the rest grey (so a turn shows)."""
    from PIL import Image, ImageDraw

    im = Image.new('RGB', size, (128, 128, 128))
    ImageDraw.Draw(im).rectangle((0, 0, size[0] // 3, size[1]), (220, 0, 0))
    exif = Image.Exif()
    if tag is not None:
        exif[0x0112] = tag
    im.save(path, exif=exif.tobytes())
    return str(path)


def test_the_annotations_size_tells_on_which_pixels_boxes_were_drawn(
    tmp_path,
):
    """A quarter turn (tags 5 to 8) swaps width and height: an annotation
    giving the stored size was measured on the stored pixels, one giving
    them swapped on the turned image. A half turn (3), a mirror (2), a
    square image or an unknown size cannot tell. Untagged images (or tag
    1) are not counted."""
    plain = _photo(tmp_path / 'plain.jpg', (80, 40))
    one = _photo(tmp_path / 'one.jpg', (80, 40), tag=1)
    six = _photo(tmp_path / 'six.jpg', (80, 40), tag=6)
    eight = _photo(tmp_path / 'eight.jpg', (60, 30), tag=8)
    half = _photo(tmp_path / 'half.jpg', (80, 40), tag=3)
    square = _photo(tmp_path / 'square.jpg', (50, 50), tag=6)

    assert read_orientations([(plain, (80, 40)), (one, (80, 40))]) == {}
    found = read_orientations(
        [(plain, (80, 40)), (six, (80, 40)), (eight, (60, 30))]
    )
    assert found == dict(
        tagged=2,
        stored=2,
        turned=0,
        undecided=0,
        first=dict(stored=six),
        ignore=True,
    )
    found = read_orientations([(six, (40, 80)), (half, (80, 40))])
    assert (found['turned'], found['undecided'], found['ignore']) == (
        1,
        1,
        False,
    )
    assert 'the annotations give the turned size: kept' in orientation_text(
        found
    )
    found = read_orientations(
        [(half, (80, 40)), (square, (50, 50)), (six, (0, 0))]
    )
    assert found['undecided'] == 3 and not found['ignore']
    assert f'the first: {half}' in orientation_text(found)
    # Both kinds: no one loader setting fits; named, not guessed.
    found = read_orientations([(six, (80, 40)), (eight, (30, 60))])
    assert (found['stored'], found['turned'], found['ignore']) == (
        1,
        1,
        False,
    )
    text = orientation_text(found)
    assert f'(the first: {six}), 1 the turned one (the first: {eight})' in text
    assert 'no loader setting fits both' in text
    # An unreadable file is left to the dataset's own checks.
    (tmp_path / 'broken.jpg').write_bytes(b'not an image')
    assert read_orientations([(str(tmp_path / 'broken.jpg'), (8, 8))]) == {}


def test_every_opencv_or_pillow_loader_is_switched_and_no_other():
    """'color' and 'grayscale' gain mmcv's '_ignore_orientation'; a
    loader that already ignores the tag ('unchanged') or decodes with a
    backend that has no such flag (turbojpeg) is left; nested pipelines
    (test-time augmentation) are reached."""
    cfg = dict(
        train_pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
        ],
        test_pipeline=[
            dict(type='mmdet.LoadImageFromFile', color_type='grayscale'),
            dict(type='LoadImageFromFile', color_type='unchanged'),
            dict(type='LoadImageFromFile', imdecode_backend='turbojpeg'),
            dict(type='LoadImageFromFile', imdecode_backend='pillow'),
        ],
        tta_pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='TestTimeAug', transforms=[[dict(type='Resize')]]),
        ],
    )
    assert ignore_orientation(cfg) == 4
    assert cfg['train_pipeline'][0]['color_type'] == (
        'color_ignore_orientation'
    )
    assert [t.get('color_type') for t in cfg['test_pipeline']] == [
        'grayscale_ignore_orientation',
        'unchanged',
        None,
        'color_ignore_orientation',
    ]
    assert cfg['tta_pipeline'][0]['color_type'] == 'color_ignore_orientation'


@pytest.fixture
def phone_photos(tmp_path):
    """A VOC dataset of phone photos: four stored as 160 x 80 landscape
    pixels tagged 6 (a portrait photo) and two untagged, every box drawn
    on the stored pixels around the red third (LabelImg's way: the
    annotation gives the stored size)."""
    from tests.conftest import _voc_xml

    root = tmp_path / 'phone'
    for sub in ('Annotations', 'ImageSets/Main', 'JPEGImages'):
        (root / sub).mkdir(parents=True)
    names = []
    for k in range(6):
        name = f'phone_{k}'
        _photo(
            root / 'JPEGImages' / f'{name}.jpg',
            (160, 80),
            6 if k < 4 else None,
        )
        (root / 'Annotations' / f'{name}.xml').write_text(
            _voc_xml(name, (160, 80), [('RBC', (2, 2, 52, 78))])
        )
        names.append(name)
    for split in ('train', 'val', 'test'):
        (root / 'ImageSets' / 'Main' / f'{split}.txt').write_text(
            '\n'.join(names) + '\n'
        )
    return str(root) + '/'


def _loaded_shapes(pipeline, root):
    """The (height, width) each image decodes to under the first
    transform of ``pipeline`` (the config's LoadImageFromFile)."""
    from mmcv.transforms import LoadImageFromFile

    cfg = dict(pipeline[0])
    cfg.pop('type')
    load = LoadImageFromFile(**cfg)
    return [
        load(dict(img_path=osp.join(root, 'JPEGImages', f'phone_{k}.jpg')))[
            'img_shape'
        ]
        for k in range(6)
    ]


def test_boxes_drawn_on_stored_pixels_are_trained_on_stored_pixels(
    phone_photos, tmp_path
):
    """Fitted on the phone photos, every LoadImageFromFile of the config
    decodes ignoring the tag, so each image is the 160 x 80 its
    annotation measured (MMDetection's default turns the tagged four to
    80 x 160, their boxes then over the wrong pixels); the config's
    comments, its record and the summary say why; a dataset of untagged
    images is fitted as before."""
    import mmcv
    from mmengine.config import Config

    import mmdet_libra_ext  # noqa: F401
    from mmdet_libra_ext.analysis.fitted_config import (
        summary_lines,
        write_fitted_config,
    )

    opts = {
        f'{s}_dataloader.dataset.{k}': v
        for s in ('train', 'val', 'test')
        for k, v in (
            ('data_root', phone_photos),
            ('metainfo.classes', ('RBC',)),
        )
    }
    opts['model.roi_head.bbox_head.num_classes'] = 1
    out = str(tmp_path / 'fitted.py')
    choices = write_fitted_config(CONFIG, out, opts)
    first = osp.join(phone_photos, 'JPEGImages', 'phone_0.jpg')
    assert choices['orientation'] == dict(
        tagged=4,
        stored=4,
        turned=0,
        undecided=0,
        first=dict(stored=first),
        ignore=True,
    )
    fitted = Config.fromfile(out)
    given = Config.fromfile(CONFIG)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        pipeline = fitted[key].dataset.pipeline
        assert pipeline[0]['color_type'] == 'color_ignore_orientation', key
        assert _loaded_shapes(pipeline, phone_photos) == [(80, 160)] * 6
    assert fitted.tta_pipeline[0]['color_type'] == 'color_ignore_orientation'
    stored = open(first, 'rb').read()
    if mmcv.imfrombytes(stored).shape[:2] == (160, 80):  # this OpenCV turns
        shapes = _loaded_shapes(
            given.train_dataloader.dataset.pipeline, phone_photos
        )
        assert shapes == [(160, 80)] * 4 + [(80, 160)] * 2
    text = open(out).read().replace('\n# ', ' ')
    assert 'Orientation: 4 training images carry an EXIF orientation' in text
    assert fitted.fitted_to_data['orientation']['ignore'] is True
    lines = '\n'.join(summary_lines(choices))
    assert (
        f'orientation: 4 training images carry an EXIF orientation that '
        f"MMDetection's loader applies; 4 annotations give the unturned size "
        f'(the first: {first}): the boxes were drawn on the stored pixels'
    ) in lines


def test_untagged_photos_keep_mmdetections_loader(bccd_like_root, tmp_path):
    from mmdet_libra_ext.analysis.fitted_config import write_fitted_config

    opts = {
        f'{s}_dataloader.dataset.{k}': v
        for s in ('train', 'val', 'test')
        for k, v in (
            ('data_root', bccd_like_root),
            ('metainfo.classes', ('RBC', 'WBC', 'Platelets')),
        )
    }
    opts['model.roi_head.bbox_head.num_classes'] = 3
    out = str(tmp_path / 'fitted.py')
    choices = write_fitted_config(CONFIG, out, opts)
    assert 'orientation' not in choices
    assert 'ignore_orientation' not in open(out).read()
    assert 'Orientation:' not in open(out).read()
