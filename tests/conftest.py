import os
import os.path as osp

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (derandomized, no
# example database), so CI is reproducible; HYPOTHESIS_PROFILE=random
# searches afresh (docs/testing.md).
settings.register_profile('ci', derandomize=True, database=None)
settings.register_profile('random', derandomize=False)
settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'ci'))

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def shapes_root(tmp_path_factory):
    """A small copy of the embedded dataset (32 train, 8 val images)."""
    from mmdet_libra_ext.datasets.make_shapes import make_shapes

    out = str(tmp_path_factory.mktemp('shapes'))
    make_shapes(out, num_train=32, num_val=8, seed=0)
    return out + os.sep


@pytest.fixture(scope='session')
def mmdet_tools():
    import mmdet

    return osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools')


@pytest.fixture(scope='session')
def crowded_root(tmp_path_factory):
    """A small copy of the crowded dataset (16 train, 4 val images)."""
    from mmdet_libra_ext.datasets.make_shapes import make_shapes

    out = str(tmp_path_factory.mktemp('crowded'))
    make_shapes(out, num_train=16, num_val=4, seed=0, variant='crowded')
    return out + os.sep


def _voc_xml(name, size, objects):
    w, h = size
    objs = ''.join(
        f'<object><name>{cls}</name><difficult>0</difficult><bndbox>'
        f'<xmin>{x1}</xmin><ymin>{y1}</ymin><xmax>{x2}</xmax>'
        f'<ymax>{y2}</ymax></bndbox></object>'
        for cls, (x1, y1, x2, y2) in objects
    )
    return (
        f'<annotation><filename>{name}.jpg</filename><size><width>{w}'
        f'</width><height>{h}</height><depth>3</depth></size>{objs}'
        '</annotation>'
    )


@pytest.fixture(scope='session')
def bccd_like_root(tmp_path_factory):
    """A tiny dataset in BCCD's layout (Pascal VOC: Annotations/,
    ImageSets/Main/{train,val,test}.txt, JPEGImages/), 640 x 480, its three
    classes drawn as discs of their sizes, with a zero-size box in train and
    one in val as BCCD has: train 4, val 2, test 2 images (trainval: train
    and val)."""
    import numpy as np
    from PIL import Image, ImageDraw

    root = tmp_path_factory.mktemp('bccd')
    for sub in ('Annotations', 'ImageSets/Main', 'JPEGImages'):
        (root / sub).mkdir(parents=True)
    rng = np.random.default_rng(0)
    sizes = {'RBC': 100, 'WBC': 190, 'Platelets': 40}
    splits = {'train': 4, 'val': 2, 'test': 2}
    index = 0
    for split, count in splits.items():
        names = []
        for _ in range(count):
            name = f'BloodImage_{index:05d}'
            index += 1
            img = Image.new('RGB', (640, 480), (230, 200, 210))
            draw = ImageDraw.Draw(img)
            objects = []
            for cls in ('WBC', 'RBC', 'RBC', 'RBC', 'Platelets'):
                s = sizes[cls]
                x1 = int(rng.integers(0, 640 - s))
                y1 = int(rng.integers(0, 480 - s))
                box = (x1, y1, x1 + s, y1 + s)
                colour = {'RBC': (200, 90, 90), 'WBC': (90, 60, 160)}.get(
                    cls, (120, 60, 140)
                )
                draw.ellipse(box, fill=colour)
                objects.append((cls, box))
            if split in ('train', 'val') and index % 2:
                objects.append(('RBC', (300, 200, 300, 200)))  # zero-size
            img.save(root / 'JPEGImages' / f'{name}.jpg')
            (root / 'Annotations' / f'{name}.xml').write_text(
                _voc_xml(name, (640, 480), objects)
            )
            names.append(name)
        (root / 'ImageSets' / 'Main' / f'{split}.txt').write_text(
            '\n'.join(names) + '\n'
        )
    main = root / 'ImageSets' / 'Main'
    (main / 'trainval.txt').write_text(
        (main / 'train.txt').read_text() + (main / 'val.txt').read_text()
    )
    return str(root) + os.sep


@pytest.fixture(scope='session')
def bccd_like_coco_root(bccd_like_root, tmp_path_factory):
    """bccd_like_root in COCO's layout (annotations/instances_{split}.json,
    the images in {split}/): the same images and boxes, VOC's 1-based
    pixel corners as COCO's [x, y, w, h]; the zero-size boxes written too
    (COCO's reader drops them, VOC's keeps them as instances)."""
    import json
    import shutil
    import xml.etree.ElementTree as ET

    classes = ('RBC', 'WBC', 'Platelets')
    root = tmp_path_factory.mktemp('bccd_coco')
    (root / 'annotations').mkdir()
    ann_id = 0
    for split in ('train', 'val', 'test'):
        (root / split).mkdir()
        images, annotations = [], []
        main = osp.join(bccd_like_root, 'ImageSets', 'Main', f'{split}.txt')
        for img_id, name in enumerate(open(main).read().split()):
            shutil.copy(
                osp.join(bccd_like_root, 'JPEGImages', f'{name}.jpg'),
                root / split,
            )
            xml = ET.parse(
                osp.join(bccd_like_root, 'Annotations', f'{name}.xml')
            ).getroot()
            size = xml.find('size')
            images.append(
                dict(
                    id=img_id,
                    file_name=f'{name}.jpg',
                    width=int(size.find('width').text),
                    height=int(size.find('height').text),
                )
            )
            for obj in xml.findall('object'):
                x1, y1, x2, y2 = (
                    int(obj.find('bndbox').find(k).text)
                    for k in ('xmin', 'ymin', 'xmax', 'ymax')
                )
                # VOC's corners are 1-based pixels (mmdet subtracts 1).
                x1, y1, x2, y2 = x1 - 1, y1 - 1, x2 - 1, y2 - 1
                annotations.append(
                    dict(
                        id=ann_id,
                        image_id=img_id,
                        category_id=classes.index(obj.find('name').text) + 1,
                        bbox=[x1, y1, x2 - x1, y2 - y1],
                        area=(x2 - x1) * (y2 - y1),
                        iscrowd=0,
                    )
                )
                ann_id += 1
        (root / 'annotations' / f'instances_{split}.json').write_text(
            json.dumps(
                dict(
                    images=images,
                    annotations=annotations,
                    categories=[
                        dict(id=i + 1, name=c) for i, c in enumerate(classes)
                    ],
                )
            )
        )
    return str(root) + os.sep


@pytest.fixture(autouse=True)
def _isolated_default_scope():
    """Each test starts with the default scope the one before it found.

    mmengine's ``DefaultScope`` is process-global and a ``Runner`` built
    without ``default_scope`` leaves a current scope ``'mmengine'`` behind,
    under which a scoped name such as ``'mmdet_libra_ext.X'`` is not found
    from MMDetection's registries. Without this, a test's outcome would
    depend on which tests ran before it on the same worker.
    """
    from mmengine.registry import DefaultScope

    before = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(before)


@pytest.fixture(scope='session')
def mobilenetv2_weights(tmp_path_factory):
    """The offline stand-in for the ImageNet MobileNetV2 the own-dataset
    recipes fine-tune: random torchvision-layout weights converted by
    tools/model_converters/mobilenetv2_to_mmdet.py (no download)."""
    from tests.torchvision_mobilenetv2 import converted_random_weights

    out = tmp_path_factory.mktemp('pretrained') / 'mobilenet_v2_mmdet.pth'
    return converted_random_weights(out)
