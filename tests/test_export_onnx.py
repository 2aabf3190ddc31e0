"""tools/deploy/export_onnx.py: Libra detectors (ours, MMDetection's BFP,
RetinaNet, the Libra RPN) export for a stock onnxruntime, and the parity
check compares what it says it compares."""
import glob
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip('mmdeploy')
pytest.importorskip('onnxruntime')
onnx = pytest.importorskip('onnx')

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOL = osp.join(ROOT, 'tools', 'deploy', 'export_onnx.py')
sys.path.insert(0, osp.dirname(TOOL))
import export_onnx  # noqa: E402


def checkpoint(name, tmp_path):
    import mmdet_libra_ext  # noqa: F401
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    register_all_modules()
    config = osp.join(ROOT, 'configs', 'demo',
                      f'{name}_r18_fpn_shapes_demo.py')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    path = str(tmp_path / f'{name}.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return config, path


@pytest.mark.slow
@pytest.mark.parametrize('name, ops', [
    ('libra-faster-rcnn', {'RoiAlign', 'NonMaxSuppression', 'ReduceMax'}),
    # MMDetection's own BFP, through the package's mmdeploy rewriter.
    ('mmdet-libra-faster-rcnn', {'RoiAlign', 'NonMaxSuppression'}),
    ('libra-retinanet', {'NonMaxSuppression'}),
    ('libra-rpn', {'NonMaxSuppression'}),
])
def test_export_and_parity(name, ops, tmp_path, shapes_root):
    config, ckpt = checkpoint(name, tmp_path)
    out = str(tmp_path / f'{name}.onnx')
    image = sorted(glob.glob(osp.join(shapes_root, 'val', '*.png')))[0]
    # 224 is not 256: BFP's levels (56, 28, 14, 7, 4) do not all divide.
    proc = subprocess.run(
        [sys.executable, TOOL, config, ckpt, '--shape', '224', '256',
         '--out', out, '--images', image], cwd=ROOT, capture_output=True,
        text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert 'parity check passed' in log
    model = onnx.load(out)
    onnx.checker.check_model(model)
    # Standard ONNX only: a stock onnxruntime runs it.
    assert {n.domain for n in model.graph.node} <= {''}
    assert ops <= {n.op_type for n in model.graph.node}
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, 224, 256]


def test_shape_must_fit_the_padding(tmp_path):
    config = osp.join(ROOT, 'configs', 'demo',
                      'libra-faster-rcnn_r18_fpn_shapes_demo.py')
    proc = subprocess.run(
        [sys.executable, TOOL, config, 'none.pth', '--shape', '250', '256'],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert '--shape 250 256' in proc.stderr and '(32)' in proc.stderr


def test_parity_helpers_detect_differences():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (6, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(40, 60, (6, 2))],
                           1).astype(np.float32)
    dets = np.concatenate([boxes, rng.uniform(0, 1, (6, 1))], 1)
    labels = np.arange(6) % 3
    perm = rng.permutation(6)
    # Same rows in another order: no difference.
    assert export_onnx.rows_without_counterpart(
        dets, labels, dets[perm], labels[perm], 1e-3) == 0
    moved = dets.copy()
    moved[2, 0] += 0.01
    assert export_onnx.rows_without_counterpart(
        dets, labels, moved, labels, 1e-3) == 1
    relabelled = labels.copy()
    relabelled[4] = 9
    assert export_onnx.rows_without_counterpart(
        dets, labels, dets, relabelled, 1e-3) == 1
    # Detection-level agreement: a box of ~50 px shifted by 1 px keeps
    # IoU > 0.9 (not 0.99); a score 0.1 away does not match.
    src = (boxes, dets[:, 4], labels)
    shifted = (boxes + 1, dets[:, 4], labels)
    thr = float(np.sort(dets[:, 4])[1])
    assert export_onnx.matched(src, src, thr, 0.9, 0.05) == (5, 5)
    m, t = export_onnx.matched(src, (boxes, dets[:, 4] + 0.1, labels), thr,
                               0.9, 0.05)
    assert (m, t) == (0, 5)
    assert export_onnx.matched(src, shifted, thr, 0.9, 0.05)[0] == 5
    assert export_onnx.matched(src, shifted, thr, 0.99, 0.05)[0] == 0
