"""tools/deployment/export_onnx.py: Libra detectors (ours, MMDetection's BFP,
RetinaNet, the Libra RPN) export for a stock onnxruntime, and the parity
check compares what it says it compares."""

import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip('mmdeploy')
pytest.importorskip('onnxruntime')
onnx = pytest.importorskip('onnx')

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOL = osp.join(ROOT, 'tools', 'deployment', 'export_onnx.py')
from mmdet_libra_ext.deploy import evaluate as deploy_evaluate  # noqa: E402
from mmdet_libra_ext.deploy import export as deploy_export  # noqa: E402
from mmdet_libra_ext.deploy import parity  # noqa: E402


def trained(name, tmp_path, shapes_root):
    """The demo config and a checkpoint after two training iterations
    (MMDetection's tools/train.py, one epoch of 8 images)."""
    import mmdet

    from tests.tiny import tiny_options

    config = osp.join(
        ROOT, 'configs', 'demo', f'{name}_r18_fpn_shapes_demo.py'
    )
    work = str(tmp_path / 'work')
    train = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')
    proc = subprocess.run(
        [sys.executable, train, config, '--work-dir', work]
        + tiny_options(shapes_root, epochs=1, val_images=8),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return config, osp.join(work, 'epoch_1.pth')


def initial(name, tmp_path):
    """The demo config and its initial weights (seed 0) as a checkpoint."""
    from benchmarks.bench_deploy import initial_checkpoint

    config = osp.join(
        ROOT, 'configs', 'demo', f'{name}_r18_fpn_shapes_demo.py'
    )
    return config, initial_checkpoint(config, str(tmp_path / f'{name}.pth'))


def run_tool(args, env=None):
    return subprocess.run(
        [sys.executable, TOOL] + args,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    'name, weights, ops',
    [
        (
            'libra-faster-rcnn',
            trained,
            {'RoiAlign', 'NonMaxSuppression', 'ReduceMax'},
        ),
        ('libra-retinanet', trained, {'NonMaxSuppression'}),
        # MMDetection's own BFP, through the package's mmdeploy rewriter.
        (
            'mmdet-libra-faster-rcnn',
            initial,
            {'RoiAlign', 'NonMaxSuppression'},
        ),
        ('libra-rpn', initial, {'NonMaxSuppression'}),
    ],
)
def test_export_and_parity(name, weights, ops, tmp_path, shapes_root):
    """Trained for two iterations (the Libra Faster R-CNN and RetinaNet)
    or at initialisation (the other two: the export does not depend on
    the weights)."""
    config, ckpt = (
        weights(name, tmp_path, shapes_root)
        if weights is trained
        else weights(name, tmp_path)
    )
    out = str(tmp_path / f'{name}.onnx')
    images = sorted(glob.glob(osp.join(shapes_root, 'val', '*.png')))[:2]
    # 224 x 256: BFP's levels (56x64 ... 4x4) do not all divide.
    proc = run_tool(
        [config, ckpt, '--shape', '224', '256', '--out', out, '--images']
        + images
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'parity check passed' in log
    model = onnx.load(out)
    onnx.checker.check_model(model)
    # Standard ONNX only: a stock onnxruntime runs it.
    assert {n.domain for n in model.graph.node} <= {''}
    assert ops <= {n.op_type for n in model.graph.node}
    dims = [
        d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim
    ]
    assert dims == [1, 3, 224, 256]


DEMO = 'configs/demo/libra-faster-rcnn_r18_fpn_shapes_demo.py'
NOT_PADDED = r'--shape 250 256: both must be multiples .* \(32\)'


@pytest.mark.parametrize(
    'config, shape, message',
    [
        (
            DEMO,
            [250, 256],
            NOT_PADDED,
        ),
        (DEMO, [0, 0], '--shape 0 0: dynamic input shapes are not supported'),
        (
            'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
            [800, 1344],
            r'MaskRCNN: not supported \(supported: FasterRCNN, RetinaNet, '
            r'RPN\)',
        ),
    ],
)
def test_refusals_name_what_is_unsupported(config, shape, message):
    from mmengine.config import Config

    if config.startswith('mmdet::'):
        import mmdet

        mim = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs')
        config = osp.join(mim, config[len('mmdet::') :])
    cfg = Config.fromfile(osp.join(ROOT, config))
    with pytest.raises(SystemExit, match=message):
        deploy_export.check_supported(cfg, shape)


def test_refusal_reaches_the_command_line():
    """The tool refuses before loading anything: an exit status and the
    message on stderr."""
    proc = run_tool([DEMO, 'none.pth', '--shape', '250', '256'])
    assert proc.returncode != 0
    assert re.search(NOT_PADDED, proc.stderr), proc.stderr[-2000:]


@pytest.mark.slow
def test_latency_benchmark_reports_ratios(capsys, shapes_root):
    from benchmarks import bench_deploy

    config = osp.join(
        ROOT, 'configs', 'demo', 'libra-retinanet_r18_fpn_shapes_demo.py'
    )
    image = sorted(glob.glob(osp.join(shapes_root, 'val', '*.png')))[0]
    sys.argv = ['bench_deploy.py', config, '--repeats', '3', '--image', image]
    bench_deploy.main()
    out = capsys.readouterr().out
    assert '| ONNX Runtime / PyTorch eager |' in out
    assert '| ONNX Runtime, second session / first (A/A) |' in out


def test_parity_helpers_detect_differences():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (6, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(40, 60, (6, 2))], 1).astype(
        np.float32
    )
    dets = np.concatenate([boxes, rng.uniform(0, 1, (6, 1))], 1)
    labels = np.arange(6) % 3
    perm = rng.permutation(6)
    # Same rows in another order: no difference.
    assert (
        parity.rows_without_counterpart(
            dets, labels, dets[perm], labels[perm], 1e-3
        )
        == 0
    )
    moved = dets.copy()
    moved[2, 0] += 0.01
    assert (
        parity.rows_without_counterpart(dets, labels, moved, labels, 1e-3) == 1
    )
    relabelled = labels.copy()
    relabelled[4] = 9
    assert (
        parity.rows_without_counterpart(dets, labels, dets, relabelled, 1e-3)
        == 1
    )
    # Detection-level agreement: a box of ~50 px shifted by 1 px keeps
    # IoU > 0.9 (not 0.99); a score 0.1 away does not match.
    src = (boxes, dets[:, 4], labels)
    shifted = (boxes + 1, dets[:, 4], labels)
    thr = float(np.sort(dets[:, 4])[1])
    assert parity.matched(src, src, thr, 0.9, 0.05) == (5, 5)
    m, t = parity.matched(
        src, (boxes, dets[:, 4] + 0.1, labels), thr, 0.9, 0.05
    )
    assert (m, t) == (0, 5)
    assert parity.matched(src, shifted, thr, 0.9, 0.05)[0] == 5
    assert parity.matched(src, shifted, thr, 0.99, 0.05)[0] == 0


def test_parity_images_come_from_the_test_data_list(tmp_path, shapes_root):
    """An annotation file that names its images with a sub-folder
    ('val/000000.png', data_prefix img='') used to make the tool list the
    folder data_root and hand directories on as images."""
    import json

    from mmengine.config import Config

    ann = json.load(
        open(osp.join(shapes_root, 'annotations', 'instances_val.json'))
    )
    for image in ann['images']:
        image['file_name'] = 'val/' + image['file_name']
    ann_file = tmp_path / 'instances_val_subfolder.json'
    ann_file.write_text(json.dumps(ann))
    cfg = Config.fromfile(osp.join(ROOT, DEMO))
    cfg.test_dataloader.dataset.update(
        data_root=shapes_root, ann_file=str(ann_file), data_prefix=dict(img='')
    )
    images = parity.parity_images(cfg, [], 3)
    expected = [
        osp.join(shapes_root, 'val', i['file_name'][len('val/') :])
        for i in sorted(ann['images'], key=lambda i: i['id'])[:3]
    ]
    assert [osp.normpath(p) for p in images] == [
        osp.normpath(p) for p in expected
    ]
    assert all(osp.isfile(p) for p in images)


def test_checkpoint_that_does_not_fit_is_refused(tmp_path):
    """A 3-class checkpoint with the 4-class demo config: refused before
    exporting, naming the tensors and both shapes, with a non-zero exit
    status on the command line."""
    from mmengine.config import Config

    from benchmarks.bench_deploy import initial_checkpoint

    cfg = Config.fromfile(osp.join(ROOT, DEMO))
    assert cfg.model.roi_head.bbox_head.num_classes == 4
    cfg.model.roi_head.bbox_head.num_classes = 3
    three = str(tmp_path / 'three_classes.py')
    cfg.dump(three)
    ckpt = initial_checkpoint(three, str(tmp_path / 'three.pth'))
    with pytest.raises(SystemExit) as err:
        deploy_export.check_checkpoint_fits(
            Config.fromfile(osp.join(ROOT, DEMO)), ckpt
        )
    message = str(err.value)
    assert (
        'roi_head.bbox_head.fc_cls.weight: checkpoint [4, 256], '
        'model [5, 256]' in message
    ), message
    assert 'roi_head.bbox_head.fc_reg.weight' in message
    # The config it was trained with fits.
    assert (
        deploy_export.checkpoint_mismatches(Config.fromfile(three), ckpt) == []
    )
    proc = run_tool(
        [
            DEMO,
            ckpt,
            '--shape',
            '256',
            '256',
            '--out',
            str(tmp_path / 'x.onnx'),
        ]
    )
    assert proc.returncode != 0
    assert 'does not fit' in proc.stderr and 'fc_cls.weight' in proc.stderr
    assert not (tmp_path / 'x.onnx').exists()


@pytest.mark.slow
def test_eval_reports_the_deployed_accuracy(tmp_path, shapes_root):
    """--eval on the config training wrote into its work dir: box mAP of
    ONNX Runtime beside MMDetection's over the whole test set (8 images
    here), equal within 0.002, and the matched share over every image.
    Evaluators that read the ground truth from the samples (VOCMetric, a
    COCO metric without an annotation file, as the BCCD configs have) get
    the test pipeline's, where they once failed with a KeyError: every
    annotated box of the annotation file, at its place. (After two
    iterations the detection metrics are still 0: whether they agree on a
    trained detector is measured in docs/deploy.md, BCCD included.)"""
    from mmengine.config import Config

    config, ckpt = trained('libra-faster-rcnn', tmp_path, shapes_root)
    cfg = Config.fromfile(osp.join(osp.dirname(ckpt), osp.basename(config)))
    cfg.test_evaluator = [
        cfg.test_evaluator,
        dict(type='mmdet_libra_ext.GTInstancesCocoMetric', prefix='gt'),
        dict(type='mmdet_libra_ext.ClasswiseVOCMetric', prefix='voc07'),
        # tests/gt_count_metric.py
        dict(type='mmdet_libra_ext.GroundTruthCountMetric'),
    ]
    cfg.custom_imports['imports'].append('gt_count_metric')
    dumped = str(tmp_path / 'evaluated.py')
    cfg.dump(dumped)
    out = str(tmp_path / 'eval.onnx')
    env = dict(os.environ)
    env['PYTHONPATH'] = osp.join(ROOT, 'tests') + os.pathsep + ROOT
    proc = run_tool(
        [dumped, ckpt, '--shape', '256', '256', '--out', out]
        + ['--num-images', '1', '--eval'],
        env=env,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    found = {
        k: (float(a), float(b))
        for k, a, b in re.findall(
            r'^(\S+): ONNX Runtime ([\d.]+), MMDetection ([\d.]+)$',
            proc.stdout,
            re.M,
        )
    }
    keys = ('coco/bbox_mAP', 'gt/bbox_mAP', 'voc07/AP50', 'voc07/mAP')
    assert set(keys) <= set(found), log[-3000:]
    for key in keys:
        deployed, reference = found[key]
        assert abs(deployed - reference) <= 0.002, key
    # The ground truth both columns were evaluated against: the annotation
    # file's boxes (the whole val split, 8 images), in image pixels.
    with open(cfg.test_evaluator[0]['ann_file']) as f:
        boxes = [a['bbox'] for a in json.load(f)['annotations']]
    total = sum(2 * x + 2 * y + w + h for x, y, w, h in boxes)
    for column in found['gt_count/boxes'], found['gt_count/coordinates']:
        assert column[0] == column[1]
    assert found['gt_count/boxes'][0] == len(boxes) > 0
    assert found['gt_count/coordinates'][0] == pytest.approx(total, abs=0.5)
    m, t = map(int, re.search(r'whole test set: (\d+) of (\d+)', log).groups())
    assert m <= t and (t == 0 or m / t >= 0.98)


def test_ground_truth_reaches_the_deployed_sample():
    """The deployment's input sample, made from the image alone, gets the
    ground truth of the config's test pipeline (VOCMetric reads
    ``gt_instances`` and ``ignored_instances``, a CocoMetric without an
    annotation file the ``instances`` meta key); nothing that is not
    there is made up."""
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    packed = DetDataSample(metainfo=dict(instances=[{'bbox_label': 1}]))
    packed.gt_instances = InstanceData(
        bboxes=torch.tensor([[1.0, 2.0, 30.0, 40.0]]),
        labels=torch.tensor([1]),
    )
    packed.ignored_instances = InstanceData(
        bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long)
    )
    sample = DetDataSample(metainfo=dict(img_id='a'))
    out = deploy_evaluate.with_ground_truth(sample, packed)
    assert out is sample and sample.img_id == 'a'
    assert sample.gt_instances.bboxes.tolist() == [[1.0, 2.0, 30.0, 40.0]]
    assert sample.gt_instances.labels.tolist() == [1]
    assert len(sample.ignored_instances) == 0
    assert sample.instances == [{'bbox_label': 1}]
    bare = deploy_evaluate.with_ground_truth(
        DetDataSample(metainfo=dict(img_id='b')), DetDataSample()
    )
    assert 'gt_instances' not in bare and 'instances' not in bare.metainfo


@pytest.mark.parametrize('module', [deploy_export, deploy_evaluate])
def test_a_checkpoint_of_the_former_run_time_fitting_is_refused(
    module, tmp_path
):
    """A checkpoint AdaptToDataHook (versions up to 0.2) trained at its own
    scale and anchors: the export and --eval refuse it with the plain
    config, naming the fit_to_data command that writes its config, before
    anything is built."""
    from tests.adapted_checkpoints import OWN_CONFIG, save_adapted

    ckpt = save_adapted(tmp_path / 'best.pth')
    onnx_file = str(tmp_path / 'x.onnx')
    with pytest.raises(ValueError, match='fit_to_data.py CONFIG'):
        if module is deploy_export:
            module.export(OWN_CONFIG, ckpt, (256, 256), onnx_file)
        else:
            module.evaluate(OWN_CONFIG, ckpt, onnx_file, (256, 256))
