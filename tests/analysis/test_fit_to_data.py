"""fit_to_data and the own-dataset configs: the schedule does not depend on
the dataset's size; the fitted config holds the input scale, anchors and
test-time caps the training boxes call for, and MMDetection's tools read it
as any config (tests/test_fitted_config_e2e.py: through training,
tools/test.py and DetInferencer)."""

import os
import os.path as osp

import pytest
import torch

from mmdet_libra_ext.analysis import box_stats as S
from mmdet_libra_ext.analysis.fit_to_data import (
    caps_for,
    choose,
    fit_options,
)
from mmdet_libra_ext.analysis.fitted_config import (
    fitted,
    write_fitted_config,
)
from tests.adapted_checkpoints import FIT, save_adapted

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
OWN = osp.join(ROOT, 'configs', 'own_dataset')
CONFIGS = ['faster-rcnn', 'libra-faster-rcnn', 'retinanet']
CLASSES = ('RBC', 'WBC', 'Platelets')


def _config(name='faster-rcnn'):
    return osp.join(OWN, f'{name}_mobilenetv2_fpn_adaptive-voc.py')


def _options(root, name='faster-rcnn', **fit):
    """--cfg-options (as a dict) pointing ``name`` at the tiny BCCD-like
    dataset ``root``, with fit_to_data options ``fit``."""
    head = 'bbox_head' if name == 'retinanet' else 'roi_head.bbox_head'
    opts = {
        f'{s}_dataloader.dataset.{k}': v
        for s in ('train', 'val', 'test')
        for k, v in (('data_root', root), ('metainfo.classes', CLASSES))
    }
    opts[f'model.{head}.num_classes'] = 3
    opts.update({f'fit_to_data.{k}': v for k, v in fit.items()})
    return opts


def _load(name='faster-rcnn', root=None, **fit):
    from mmengine.config import Config

    import mmdet_libra_ext  # noqa: F401

    cfg = Config.fromfile(_config(name))
    if root:
        cfg.merge_from_dict(_options(root, name, **fit))
    return cfg


def _resizes(node):
    if isinstance(node, dict):
        found = [node] if node.get('type') == 'Resize' else []
        return found + [r for v in node.values() for r in _resizes(v)]
    if isinstance(node, (list, tuple)):
        return [r for v in node for r in _resizes(v)]
    return []


def test_bad_options_are_named():
    from mmengine.config import Config

    def opts(**fit):
        return fit_options(Config(dict(fit_to_data=fit)))

    assert opts() == fit_options(Config())
    with pytest.raises(ValueError, match='smallest=40'):
        opts(smallest=40, largest=30)
    with pytest.raises(ValueError, match='bpr_target=1.5'):
        opts(bpr_target=1.5)
    with pytest.raises(TypeError, match="anchors='yes'"):
        opts(anchors='yes')
    with pytest.raises(ValueError, match="max_long_side='big'"):
        opts(max_long_side='big')
    with pytest.raises(TypeError, match="did you mean 'smallest'"):
        opts(smalest=10)


def test_a_missing_split_or_data_root_is_named_before_mmdet_reads_it(
    bccd_like_root, tmp_path
):
    """A VOC dataset without a val list (a common layout: trainval and
    test only), or a data_root that is not there: fit_to_data names the
    dataloader and the path instead of MMDetection's traceback; a dataset
    wrapped by RepeatDataset is checked inside; a complete one passes."""
    import re
    import shutil

    from mmdet_libra_ext.analysis.dataset_files import check_data_files

    root = str(tmp_path / 'voc') + '/'
    shutil.copytree(bccd_like_root, root)
    check_data_files(_load(root=root))  # every split there: no error
    val = osp.join(root, 'ImageSets', 'Main', 'val.txt')
    shutil.move(val, val + '.kept')
    with pytest.raises(ValueError) as err:
        choose(_load(root=root), fit_options(_load()))
    msg = str(err.value)
    assert 'val_dataloader' in msg and val in msg
    assert 'train_dataloader' not in msg and 'test_dataloader' not in msg
    assert 'ImageSets/Main/<split>.txt' in msg
    shutil.move(val + '.kept', val)

    gone = str(tmp_path / 'nowhere') + '/'
    with pytest.raises(ValueError, match=re.escape(f'data_root {gone!r}')):
        check_data_files(_load(root=gone))

    cfg = _load(root=root)
    cfg.train_dataloader.dataset = dict(
        type='RepeatDataset', times=2, dataset=cfg.train_dataloader.dataset
    )
    cfg.train_dataloader.dataset.dataset.ann_file = 'ImageSets/Main/x.txt'
    with pytest.raises(ValueError, match='train_dataloader: ann_file'):
        check_data_files(cfg)

    # A COCO json: its files checked, the split read from its JSON
    # (tests/analysis/test_coco_files.py), not as VOC.
    import json

    (tmp_path / 'coco.json').write_text(
        json.dumps(dict(images=[], annotations=[], categories=[]))
    )
    cfg = _load(root=root)
    cfg.train_dataloader.dataset = dict(
        type='CocoDataset', data_root=str(tmp_path), ann_file='coco.json'
    )
    (coco,) = check_data_files(cfg)['train_dataloader']
    assert coco['ids'] == 0 and coco['reader'].__name__ == 'CocoDataset'
    cfg.train_dataloader.dataset.ann_file = 'none.json'
    with pytest.raises(ValueError, match="ann_file 'none.json'"):
        check_data_files(cfg)


def test_a_coco_dataset_fits_as_its_voc_twin(
    bccd_like_root, bccd_like_coco_root
):
    """The COCO-format recipe on the same images and boxes in COCO's
    layout: the same boxes read (VOC's 1-based corners and COCO's
    [x, y, w, h] are the same pixels in MMDetection), so the same input
    scale, anchors and caps; the VOC recipe's model, schedule and
    evaluation, only the reader changed."""
    from mmengine.config import Config

    import mmdet_libra_ext  # noqa: F401

    coco = Config.fromfile(
        osp.join(OWN, 'faster-rcnn_mobilenetv2_fpn_adaptive-coco.py')
    )
    coco.merge_from_dict(_options(bccd_like_coco_root))
    voc = _load(root=bccd_like_root)
    assert coco.train_dataloader.dataset.type == 'CocoDataset'
    got = choose(coco, fit_options(coco))
    want = choose(voc, fit_options(voc))
    assert got['num_boxes'] == want['num_boxes'] == 20
    for key in ('num_images', 'input_scale', 'anchors'):
        assert got[key] == want[key], key
    # The densest image: VOC's reader keeps a zero-size box as an instance,
    # COCO's drops it (area 0): 6 and 5 boxes on 640 x 480.
    assert want['boxes_per_mpx'] == pytest.approx(6 / 0.3072)
    assert got['boxes_per_mpx'] == pytest.approx(5 / 0.3072)
    # The COCO reader's files are checked as VOC's are.
    coco.merge_from_dict(
        {'val_dataloader.dataset.ann_file': 'annotations/instances_valid.json'}
    )
    with pytest.raises(ValueError, match='val_dataloader: ann_file'):
        choose(coco, fit_options(coco))


@pytest.fixture
def voc_copy(bccd_like_root, tmp_path):
    import shutil

    root = str(tmp_path / 'voc') + '/'
    shutil.copytree(bccd_like_root, root)
    return root


def _ids(root, split):
    with open(osp.join(root, 'ImageSets', 'Main', f'{split}.txt')) as f:
        return f.read().split()


def test_a_listed_image_or_annotation_that_is_missing_is_named(voc_copy):
    """An image that is not there (no <id>.jpg, no file its annotation
    names, no other extension) fails in MMDetection only when training
    loads it (or validation, 200 iterations in). fit_to_data names the
    split, the count and the first path; a missing XML likewise."""
    import os

    from mmdet_libra_ext.analysis.dataset_files import check_data_files

    val = _ids(voc_copy, 'val')[0]
    jpg = osp.join(voc_copy, 'JPEGImages', f'{val}.jpg')
    os.remove(jpg)
    train = _ids(voc_copy, 'train')[1]
    os.remove(osp.join(voc_copy, 'Annotations', f'{train}.xml'))
    with pytest.raises(ValueError) as err:
        check_data_files(_load(root=voc_copy))
    msg = str(err.value)
    assert 'val_dataloader: 1 of the 2 ids listed in ' in msg
    assert f'have no images (the first: {jpg})' in msg
    assert 'nor one at the <filename> of their annotation or with ' in msg
    assert 'train_dataloader: 1 of the 4 ids' in msg
    assert f'{train}.xml' in msg and 'test_dataloader' not in msg


def test_classes_the_annotations_do_not_name_are_refused_or_reported(
    voc_copy,
):
    """The recipe's classes left unchanged ('object'): no training box
    would be kept (MMDetection's dataset drops unlisted names without a
    word, then fails on an empty data list); fit_to_data refuses it,
    naming the annotations' classes and their boxes. Classes listed in
    part: the others are counted and reported, a listed class with no box
    too. Counts from the fixture: 4 training images, each 3 RBC, 1 WBC, 1
    Platelets, and a zero-size RBC in 2 of them."""
    from mmdet_libra_ext.analysis.fitted_config import record, summary_lines

    def with_classes(classes):
        cfg = _load(root=voc_copy)
        for s in ('train', 'val', 'test'):
            cfg[f'{s}_dataloader'].dataset.metainfo.classes = classes
        return cfg

    with pytest.raises(ValueError) as err:
        choose(with_classes(('object',)), fit_options(_load()))
    msg = str(err.value)
    assert "classes ('object',)" in msg
    assert "'RBC' (14 boxes), 'WBC' (4 boxes), 'Platelets' (4 boxes)" in msg

    choices = choose(with_classes(('RBC', 'wbc')), fit_options(_load()))
    assert choices['classes'] == dict(
        unlisted={'WBC': 4, 'Platelets': 4}, without_boxes=['wbc']
    )
    assert choices['num_boxes'] == 12  # the RBCs, the zero-size ones not
    lines = '\n'.join(summary_lines(choices))
    assert "not in classes: 'WBC' (4 boxes), 'Platelets' (4 boxes)" in lines
    assert "classes with no training box: 'wbc'" in lines
    assert record(choices)['classes']['unlisted'] == {'WBC': 4, 'Platelets': 4}

    # ('RBC') without its comma: a string, which MMDetection reads as
    # three one-letter classes (and num_classes=len(classes) as 3).
    with pytest.raises(ValueError) as err:
        choose(with_classes('RBC'), fit_options(_load()))
    assert "string 'RBC', read as 3 one-letter classes" in str(err.value)
    assert "classes = ('RBC',)" in str(err.value)

    every = choose(with_classes(CLASSES), fit_options(_load()))
    assert every['classes'] == dict(unlisted={}, without_boxes=[])
    assert 'classes' not in record(every)


@pytest.mark.parametrize('name', CONFIGS)
def test_the_schedule_is_in_iterations_whatever_the_data(name):
    """The same loop, learning rate, validation and checkpoint schedule for
    a dataset of 5 images and one of 500: nothing counts epochs; the
    fitting options are the config's, no hook fits at run time."""
    from mmengine.config import Config

    a, b = Config.fromfile(_config(name)), Config.fromfile(_config(name))
    for cfg, root, n in ((a, 'data/a/', 5), (b, 'data/b/', 500)):
        cfg.merge_from_dict(
            {
                'train_dataloader.dataset.data_root': root,
                'train_dataloader.dataset.indices': n,
            }
        )
    for key in (
        'train_cfg',
        'param_scheduler',
        'default_hooks',
        'custom_hooks',
    ):
        assert a[key] == b[key], key
    assert a.train_cfg.type == 'IterBasedTrainLoop'
    assert all(not s.get('by_epoch', True) for s in a.param_scheduler)
    assert a.default_hooks.checkpoint.by_epoch is False
    assert a.default_hooks.checkpoint.save_best == 'voc12/mAP'
    # Each evaluation logged at its iteration: the best can be read back.
    assert a.default_hooks.logger.log_metric_by_epoch is False
    assert a.train_dataloader.sampler.type == 'InfiniteSampler'
    assert fit_options(a)['smallest'] == 24
    assert not any('AdaptToData' in h['type'] for h in a.custom_hooks)


@pytest.mark.parametrize('name', CONFIGS)
def test_the_documented_override_keeps_left_right_flips_only(name):
    """docs/own_dataset.md: the two --cfg-options for images with an up
    and down reach the recipe's RandomFlip."""
    from mmengine.config import Config, DictAction

    parser = __import__('argparse').ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    doc = open(osp.join(ROOT, 'docs', 'own_dataset.md')).read()
    line = doc.split('`--cfg-options ')[1].split('`')[0].split()
    args = parser.parse_args(['--cfg-options', *line])
    cfg = Config.fromfile(_config(name))
    flip = cfg.train_dataloader.dataset.pipeline[3]
    assert flip.type == 'RandomFlip'
    assert flip.direction == ['horizontal', 'vertical', 'diagonal']
    cfg.merge_from_dict(args.cfg_options)
    flip = cfg.train_dataloader.dataset.pipeline[3]
    assert (flip.direction, flip.prob) == ('horizontal', 0.5)


def _write(root, tmp_path, name='faster-rcnn', **fit):
    """Fit ``name`` on ``root`` into tmp_path; (choices, fitted config as
    mmengine loads it)."""
    from mmengine.config import Config

    import mmdet_libra_ext  # noqa: F401

    out = str(tmp_path / f'{name}_fitted.py')
    choices = write_fitted_config(
        _config(name), out, _options(root, name, **fit)
    )
    return choices, Config.fromfile(out)


def test_an_input_scale_reaches_every_pipeline_and_the_anchors_the_model(
    bccd_like_root, tmp_path
):
    """Objects made small on purpose (smallest=100 px wanted): the fitted
    config doubles the images in every pipeline (training, validation,
    test, test-time augmentation), and the built datasets resize so."""
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope

    choices, cfg = _write(bccd_like_root, tmp_path, smallest=100, largest=1000)
    scale = choices['input_scale']['scale']
    assert scale > 1.5
    for key in (
        'train_dataloader',
        'val_dataloader',
        'test_dataloader',
        'tta_pipeline',
    ):
        found = _resizes(
            cfg[key].to_dict()
            if key != 'tta_pipeline'
            else [dict(p) for p in cfg[key]]
        )
        assert found, key
        assert all(
            r['scale_factor'] == scale and 'scale' not in r for r in found
        ), key
    init_default_scope('mmdet')
    for key in ('train_dataloader', 'test_dataloader'):
        data = DATASETS.build(cfg[key].dataset)[0]
        ori = data['data_samples'].ori_shape
        assert data['inputs'].shape[1] == round(ori[0] * scale)
    fit = choices['anchors']['rpn_head']
    gen = cfg.model.rpn_head.anchor_generator
    want = fit['cfg']  # the config's own where they are not changed
    assert gen.scales == want['scales'] and gen.ratios == want['ratios']
    # The figures each value came from, and a record of them.
    text = open(tmp_path / 'faster-rcnn_fitted.py').read()
    assert f'every Resize resizes by\n# {scale}' not in text
    assert f'every Resize resizes by {scale}' in text.replace('\n# ', ' ')
    assert cfg.fitted_to_data.input_scale.scale == scale
    assert cfg.fitted_to_data.num_images == 4


def test_without_a_fitted_scale_anchors_fit_the_pipelines_resize(
    bccd_like_root,
):
    """input_scale=False: the anchors are judged on the boxes as the
    config's own Resize (1333 x 800, ratio kept) presents them, 5/3 of the
    640 x 480 annotations, and no Resize is changed."""
    from mmdet.registry import DATASETS, TASK_UTILS
    from mmengine.registry import init_default_scope

    cfg = _load(root=bccd_like_root, input_scale=False)
    choices = choose(cfg, fit_options(cfg))
    assert 'input_scale' not in choices
    assert choices['pipeline_scale'] == pytest.approx(5 / 3)
    init_default_scope('mmdet')
    images = S.dataset_instances(DATASETS.build(cfg.train_dataloader.dataset))
    wh = S.box_wh(torch.cat([b for _, b, _ in images])) * 5 / 3
    gen = TASK_UTILS.build(cfg.model.rpn_head.anchor_generator)
    expected = S.best_possible_recall(wh, S.generator_shapes(gen), 0.5)
    assert choices['anchors']['rpn_head']['before'] == pytest.approx(expected)
    new, _ = fitted(cfg, choices)
    assert _resizes(new.to_dict()) == _resizes(cfg.to_dict())


def test_retinanet_heads_anchors_are_fitted(bccd_like_root, tmp_path):
    """A one-stage head: fit_to_data finds RetinaNet's anchor generator,
    and where its best possible recall is below the target (objects made
    small on purpose: largest=60 px shrinks the images), fits its
    octave_base_scale and ratios, keeping scales_per_octave and strides."""
    from mmdet.registry import DATASETS, TASK_UTILS
    from mmengine.registry import init_default_scope

    choices, cfg = _write(
        bccd_like_root, tmp_path, 'retinanet', smallest=8, largest=60
    )
    fit = choices['anchors']['bbox_head']
    assert 'rpn_head' not in choices['anchors']
    assert fit['changed'] and fit['after']['bpr'] > fit['before']['bpr']
    init_default_scope('mmdet')
    gen = TASK_UTILS.build(cfg.model.bbox_head.anchor_generator)
    assert gen.octave_base_scale == fit['cfg']['octave_base_scale'] != 4
    assert gen.scales_per_octave == 3
    assert [s[0] for s in gen.strides] == [8, 16, 32, 64, 128]
    images = S.dataset_instances(DATASETS.build(cfg.train_dataloader.dataset))
    wh = torch.cat([S.box_wh(b) for _, b, _ in images])
    assert S.best_possible_recall(
        wh * choices['input_scale']['scale'], S.generator_shapes(gen), 0.5
    ) == pytest.approx(fit['after'])


def test_test_caps_are_raised_for_dense_data_and_never_lowered(
    bccd_like_root,
):
    """The fixture's images are 640 x 480 (0.3072 Mpx). Objects 1000 per
    megapixel would put 307 in one: twice that, 615, is the final cap; the
    RPN's and test-time augmentation's caps follow by the same factor;
    10 per megapixel leave the config's caps."""
    cfg = _load(root=bccd_like_root)
    choices = choose(cfg, fit_options(cfg))
    # 5 discs in each 640 x 480 image and, in one, the zero-size box.
    assert choices['boxes_per_mpx'] == pytest.approx(6 / 0.3072)
    assert choices['caps']['factor'] == 1.0
    new, comments = fitted(cfg, choices)
    assert new.model.test_cfg == cfg.model.test_cfg
    assert ('model', 'test_cfg') not in comments
    caps = caps_for(cfg, 1000.0)
    assert caps['factor'] == pytest.approx(6.15)
    assert caps['largest_mpx'] == pytest.approx(0.3072)
    new, comments = fitted(cfg, dict(choices, caps=caps))
    t = new.model.test_cfg
    assert (t.rpn.nms_pre, t.rpn.max_per_img, t.rcnn.max_per_img) == (
        3075,
        1845,
        615,
    )
    assert new.tta_model.tta_cfg.max_per_img == 615
    assert '6.15' in comments[('model', 'test_cfg')]
    low = caps_for(cfg, 10.0)
    assert low['factor'] == 1.0
    assert low['caps']['model.test_cfg.rcnn.max_per_img'] == 100


def test_the_tool_writes_a_config_beside_the_given_one(
    bccd_like_root, tmp_path
):
    """tools/analysis_tools/fit_to_data.py as a user runs it: the config
    copied and edited (data_root and classes), the fitted one written
    beside it, inheriting it by a relative path, the figures printed. The
    balance report refuses the copy (its scale and anchors placeholders)
    naming the command that fits it, and reads the fitted config."""
    import shutil

    from mmengine.config import Config

    from mmdet_libra_ext.analysis.fitted_config import needs_fitting
    from tests.tool_runs import load_tool, run_main, run_tool

    work = tmp_path / 'mine'
    shutil.copytree(osp.join(ROOT, 'configs'), work)
    config = (
        work / 'own_dataset' / 'faster-rcnn_mobilenetv2_fpn_adaptive-voc.py'
    )
    text = config.read_text()
    text = text.replace(
        "data_root = 'data/my_dataset/'", f'data_root = {bccd_like_root!r}'
    )
    text = text.replace("classes = ('object',)", f'classes = {CLASSES!r}')
    config.write_text(text)
    report = load_tool('tools/analysis_tools/balance_report.py').main
    fitted_path = config.with_name(config.stem + '_fitted.py')
    reports = tmp_path / 'reports'
    with pytest.raises(SystemExit) as refused:
        report([str(config), '--no-model', '--out-dir', str(reports)])
    assert 'not fitted yet' in str(refused.value.code)
    assert f'fit_to_data.py {config}\n' in str(refused.value.code)
    assert str(refused.value.code).endswith(f'balance_report.py {fitted_path}')
    assert not reports.exists()
    out = run_tool(['tools/analysis_tools/fit_to_data.py', str(config)])
    assert 'best possible recall' in out and str(fitted_path) in out
    written = fitted_path.read_text()
    assert "_base_ = 'faster-rcnn_mobilenetv2_fpn_adaptive-voc.py'" in written
    cfg = Config.fromfile(str(fitted_path))
    # 4 images of 5 discs (the zero-size box is not counted).
    assert cfg.fitted_to_data.num_boxes == 20
    assert cfg.train_dataloader.dataset.data_root == bccd_like_root
    assert needs_fitting(Config.fromfile(str(config)))
    assert not needs_fitting(cfg)
    args = [str(fitted_path), '--no-model', '--batches', '1']
    out = run_main(report, args + ['--out-dir', str(reports)])
    assert 'room to balance' in out
    assert sorted(os.listdir(reports))[0] == 'balance_report.json'


def test_a_checkpoint_of_the_former_hook_is_refused_saying_what_to_run(
    bccd_like_root, tmp_path
):
    """A run of AdaptToDataHook (versions up to 0.2): its config's hook and
    its checkpoint with the plain config are refused naming fit_to_data;
    --from-checkpoint writes the config of its weights, which is
    accepted."""
    from mmengine.config import Config

    from mmdet_libra_ext.engine.hooks import AdaptToDataHook
    from mmdet_libra_ext.utils.checkpoint import check_not_legacy_fit

    with pytest.raises(RuntimeError, match='fit_to_data.py CONFIG'):
        AdaptToDataHook(smallest=8)
    ckpt = save_adapted(tmp_path / 'old.pth')
    cfg = _load(root=bccd_like_root)
    with pytest.raises(ValueError, match='--from-checkpoint'):
        check_not_legacy_fit(cfg, ckpt)
    out = str(tmp_path / 'fitted.py')
    write_fitted_config(
        _config(), out, _options(bccd_like_root), checkpoint=ckpt
    )
    cfg = Config.fromfile(out)
    check_not_legacy_fit(cfg, ckpt)
    assert cfg.model.rpn_head.anchor_generator.scales == FIT['scales']
    found = _resizes(cfg.test_dataloader.to_dict())
    assert [r['scale_factor'] for r in found] == [1.4375]
    plain = str(tmp_path / 'plain.pth')
    torch.save(dict(state_dict={}), plain)
    check_not_legacy_fit(_load(), plain)
    with pytest.raises(ValueError, match='holds no fitted choices'):
        write_fitted_config(_config(), out, None, checkpoint=plain)


def test_other_resizing_transforms_are_kept_and_reported(bccd_like_root):
    """A multi-scale training resize is the config's augmentation: the
    fitted scale replaces the Resize transforms only, and the record and
    the summary name what was left."""
    from mmdet_libra_ext.analysis.fitted_config import summary_lines

    cfg = _load(root=bccd_like_root)
    random = dict(type='RandomResize', scale=[(640, 480), (800, 600)])
    cfg.train_dataloader.dataset.pipeline.insert(3, random)
    choices = choose(cfg, fit_options(cfg))
    new, _ = fitted(cfg, choices)
    assert new.train_dataloader.dataset.pipeline[3] == random
    assert new.fitted_to_data.kept_resizes == ['RandomResize']
    assert any('RandomResize' in line for line in summary_lines(choices))


@pytest.fixture(scope='module')
def photos_root(tmp_path_factory):
    """VOC photos of many sizes (long sides 240 to 960 px, two classes),
    each object a quarter of its image's long side."""
    from PIL import Image

    from tests.conftest import _voc_xml

    root = tmp_path_factory.mktemp('photos')
    for sub in ('Annotations', 'ImageSets/Main', 'JPEGImages'):
        (root / sub).mkdir(parents=True)
    names = []
    for k, long in enumerate([240, 320, 480, 640, 800, 960]):
        w, h = long, long * 3 // 4
        name = f'photo_{k}'
        box = (10, 10, 10 + long // 4, 10 + long // 4)
        Image.new('RGB', (w, h), (90, 120, 60)).save(
            root / 'JPEGImages' / f'{name}.jpg'
        )
        (root / 'Annotations' / f'{name}.xml').write_text(
            _voc_xml(name, (w, h), [('RBC' if k % 2 else 'WBC', box)])
        )
        names.append(name)
    for split in ('train', 'val', 'test'):
        (root / 'ImageSets' / 'Main' / f'{split}.txt').write_text(
            '\n'.join(names) + '\n'
        )
    return str(root) + '/'


def test_photos_of_many_sizes_are_each_resized_to_one_long_side(
    photos_root, tmp_path
):
    """resize='auto' on images whose long sides spread (240 to 960 px):
    each image to one long side, the median's (560 px, the objects a
    quarter of it: 140 px, within 24 to 320), written as a keep-ratio
    Resize in every pipeline; the anchors judged on the boxes at that
    size; uniform images (BCCD's) keep one factor."""
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope

    choices, cfg = _write(photos_root, tmp_path)
    sc = choices['input_scale']
    assert sc['mode'] == 'long_side' and sc['long_side'] == 560
    assert sc['size_p50'] == pytest.approx(140, abs=1)
    for key in ('train_dataloader', 'test_dataloader', 'tta_pipeline'):
        node = cfg[key]
        found = _resizes(
            node.to_dict()
            if key != 'tta_pipeline'
            else [dict(p) for p in node]
        )
        assert found and all(
            tuple(r['scale']) == (560, 560)
            and r['keep_ratio']
            and 'scale_factor' not in r
            for r in found
        ), key
    init_default_scope('mmdet')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    for i in range(len(dataset)):
        assert max(dataset[i]['inputs'].shape[1:]) == 560
    text = open(tmp_path / 'faster-rcnn_fitted.py').read().replace('\n# ', ' ')
    assert 'resizes each image to a long side of 560 px' in text
    assert 'spread from 280 to 880 px' in text
    # The anchors saw 140 px boxes: the config's (scales=[8]: 32 to 512
    # px) reach them.
    assert choices['anchors']['rpn_head']['before']['bpr'] == 1.0
    # resize='factor' keeps one factor (the largest image within bounds).
    choices, _ = _write(photos_root, tmp_path, resize='factor')
    assert 'mode' not in choices['input_scale']


def test_bccd_sized_images_keep_one_factor(bccd_like_root, tmp_path):
    choices, _ = _write(bccd_like_root, tmp_path)
    assert 'mode' not in choices['input_scale']
    assert choices['input_scale']['scale'] == 1.0


def test_long_side_needs_the_image_sizes():
    from mmdet_libra_ext.analysis.fit_to_data import _resize_mode

    sizes = [(640, 480), (0, 0)]
    assert _resize_mode('auto', sizes) == 'factor'
    with pytest.raises(ValueError, match='1 of 2 have none'):
        _resize_mode('long_side', sizes)
    assert _resize_mode('auto', [(200, 100), (900, 600)]) == 'long_side'
    assert _resize_mode('auto', [(640, 480), (600, 480)]) == 'factor'


def _zero_sizes(root, names):
    """Write a size of 0 x 0 into the annotations of ``names`` (what
    LabelImg writes for an image it could not measure)."""
    import re

    for name in names:
        path = osp.join(root, 'Annotations', f'{name}.xml')
        text = open(path).read()
        text = re.sub(r'<width>\d+</width>', '<width>0</width>', text)
        text = re.sub(r'<height>\d+</height>', '<height>0</height>', text)
        open(path, 'w').write(text)


def _read_by_image_file_reader(cfg, choices, tmp_path, want):
    """Each dataloader of the fitted ``cfg`` reads with ImageFileVOCDataset
    and ``choices`` record ``want`` for it; the summary's lines and the
    fitted config's text (its comment lines joined)."""
    from mmdet_libra_ext.analysis.fitted_config import summary_lines

    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.type == 'mmdet_libra_ext.ImageFileVOCDataset'
        assert choices['image_sizes'][key] == want
    text = open(tmp_path / 'faster-rcnn_fitted.py').read().replace('\n# ', ' ')
    return '\n'.join(summary_lines(choices)), text


def test_annotations_of_size_zero_are_read_from_the_images(
    photos_root, tmp_path
):
    """Two of the six photos' annotations say 0 x 0: MMDetection's
    VOCDataset would drop them from training (and read 0 where sizes are
    fitted); the fitted config reads them with ImageFileVOCDataset, says
    so in its comments, its record and the summary, and fits exactly as
    on the same photos with their sizes written."""
    import shutil

    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope

    from mmdet_libra_ext.analysis.fitted_config import record

    (tmp_path / 'written').mkdir()
    written, _ = _write(photos_root, tmp_path / 'written')
    root = str(tmp_path / 'zero') + '/'
    shutil.copytree(photos_root, root)
    _zero_sizes(root, ['photo_0', 'photo_5'])
    choices, cfg = _write(root, tmp_path)
    assert choices['num_images'] == written['num_images'] == 6
    assert choices['input_scale'] == written['input_scale']
    assert choices['caps'] == written['caps']
    assert choices['anchors'] == written['anchors']
    first = osp.join(root, 'Annotations', 'photo_0.xml')
    lines, text = _read_by_image_file_reader(
        cfg,
        choices,
        tmp_path,
        dict(images=2, first=first, files=0, first_file=None, read=True),
    )
    assert record(choices)['image_sizes'] == choices['image_sizes']
    assert (
        f'train_dataloader: 2 annotations give the image size 0 (the '
        f'first: {first}): read from the files by '
        "mmdet_libra_ext.ImageFileVOCDataset (MMDetection's VOCDataset "
        'keeps 0 (training drops those images))'
    ) in lines
    assert 'px. Reader: 2 annotations give the image size 0' in text
    init_default_scope('mmdet')
    assert len(DATASETS.build(cfg.train_dataloader.dataset)) == 6
    # Sizes all written: MMDetection's reader stays.
    assert 'image_sizes' not in written
    assert (
        'ImageSize'
        not in open(tmp_path / 'written' / 'faster-rcnn_fitted.py').read()
    )


def test_images_that_are_not_jpg_are_read_where_they_are(
    photos_root, tmp_path
):
    """Two of the six photos saved as PNG (one named in its annotation's
    <filename>, one only by its id): MMDetection's VOCDataset would look
    for <id>.jpg and fail when training loads them; the fitted config
    reads them with ImageFileVOCDataset, says so, and fits exactly as on
    the JPEGs."""
    import re
    import shutil

    import cv2
    from mmdet.registry import DATASETS
    from mmengine.registry import init_default_scope

    (tmp_path / 'jpg').mkdir()
    jpeg, _ = _write(photos_root, tmp_path / 'jpg')
    root = str(tmp_path / 'png') + '/'
    shutil.copytree(photos_root, root)
    for name in ('photo_0', 'photo_5'):
        jpg = osp.join(root, 'JPEGImages', f'{name}.jpg')
        cv2.imwrite(jpg[:-4] + '.png', cv2.imread(jpg))
        os.remove(jpg)
    xml = osp.join(root, 'Annotations', 'photo_0.xml')
    text = re.sub(r'<filename>[^<]*</filename>', '', open(xml).read())
    open(xml, 'w').write(
        text.replace(
            '<annotation>', '<annotation><filename>photo_0.png</filename>', 1
        )
    )
    choices, cfg = _write(root, tmp_path)
    for key in ('num_images', 'input_scale', 'caps', 'anchors'):
        assert choices[key] == jpeg[key], key
    first = osp.join(root, 'JPEGImages', 'photo_0.png')
    lines, text = _read_by_image_file_reader(
        cfg,
        choices,
        tmp_path,
        dict(images=0, first=None, files=2, first_file=first, read=True),
    )
    assert (
        f'train_dataloader: 2 images are not <id>.jpg (the first: {first}): '
        'read from the files by mmdet_libra_ext.ImageFileVOCDataset '
        "(MMDetection's VOCDataset reads <id>.jpg only)"
    ) in lines
    assert 'Reader: 2 images are not <id>.jpg' in text
    init_default_scope('mmdet')
    infos = DATASETS.build(cfg.train_dataloader.dataset)
    paths = sorted(infos.get_data_info(i)['img_path'] for i in range(6))
    assert [osp.basename(p) for p in paths] == [
        'photo_0.png', 'photo_1.jpg', 'photo_2.jpg', 'photo_3.jpg',
        'photo_4.jpg', 'photo_5.png',
    ]  # fmt: skip


def test_a_size_zero_under_another_reader_or_unreadable_is_said(
    photos_root, tmp_path
):
    """An XML reader other than VOCDataset (MMDetection's XMLDataset) is
    left as it is, and the summary says what it does with the 0; a size
    MMDetection cannot read (int('480.0') fails deep in its reader) is
    refused naming the file and what it holds."""
    import shutil

    root = str(tmp_path / 'zero') + '/'
    shutil.copytree(photos_root, root)
    _zero_sizes(root, ['photo_1'])
    cfg = _load(root=root)
    for s in ('train', 'val', 'test'):
        cfg[f'{s}_dataloader'].dataset.type = 'XMLDataset'
    choices = choose(cfg, fit_options(_load()))
    assert cfg.train_dataloader.dataset.type == 'XMLDataset'
    assert choices['image_sizes']['train_dataloader']['read'] is False
    from mmdet_libra_ext.analysis.fitted_config import summary_lines

    lines = '\n'.join(summary_lines(choices))
    assert 'their reader keeps 0 (training drops those images)' in lines
    assert choices['num_images'] == 5  # MMDetection's filter dropped one

    path = osp.join(root, 'Annotations', 'photo_2.xml')
    text = open(path).read()
    open(path, 'w').write(
        text.replace('<width>480</width>', '<width>480.0</width>')
    )
    with pytest.raises(ValueError) as err:
        choose(_load(root=root), fit_options(_load()))
    msg = str(err.value)
    assert 'train_dataloader: 1 of the 6 annotations listed in' in msg
    assert f"(the first: {path}: width '480.0', height '360')" in msg
