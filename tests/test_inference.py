"""Inference on a user's own image through MMDetection's own APIs, with this
package's config (its ``custom_imports``) and a checkpoint: ``DetInferencer``
gives what ``init_detector`` + ``inference_detector`` give."""

import os.path as osp

import numpy as np
import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'configs/demo/libra-faster-rcnn_r18_fpn_shapes_demo.py')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    from benchmarks.bench_deploy import initial_checkpoint

    path = tmp_path_factory.mktemp('ckpt') / 'libra.pth'
    return initial_checkpoint(DEMO, str(path))


def test_det_inferencer_equals_inference_detector(
    checkpoint, shapes_root, tmp_path
):
    from mmdet.apis import DetInferencer, inference_detector, init_detector

    image = osp.join(shapes_root, 'val', '000000.png')
    inferencer = DetInferencer(model=DEMO, weights=checkpoint, device='cpu')
    out = inferencer(image, out_dir=str(tmp_path), no_save_pred=False)
    pred = out['predictions'][0]
    assert type(inferencer.model).__name__ == 'FasterRCNN'
    assert any(
        type(m).__module__.startswith('mmdet_libra_ext')
        for m in inferencer.model.modules()
    )
    ref = inference_detector(
        init_detector(DEMO, checkpoint, device='cpu'), image
    ).pred_instances
    assert len(pred['bboxes']) == len(ref.bboxes) > 0
    np.testing.assert_allclose(
        np.array(pred['bboxes']), ref.bboxes.numpy(), rtol=1e-4, atol=1e-3
    )
    np.testing.assert_allclose(
        np.array(pred['scores']), ref.scores.numpy(), rtol=1e-4, atol=1e-5
    )
    assert list(pred['labels']) == ref.labels.tolist()
    # The picture and the json MMDetection's inferencer writes.
    assert osp.isfile(osp.join(tmp_path, 'vis', '000000.png'))
    assert osp.isfile(osp.join(tmp_path, 'preds', '000000.json'))


def test_inference_snippet_runs(checkpoint, shapes_root, tmp_path):
    """The DetInferencer snippet of docs/training.md (the README points to
    it), run as written with its config,
    checkpoint and folders replaced by the test's: one picture and one json
    per image of the folder."""
    import re
    import shutil

    doc = open(osp.join(ROOT, 'docs', 'training.md')).read()
    (snippet,) = [
        b
        for b in re.findall(r'```python\n(.*?)```', doc, flags=re.S)
        if 'DetInferencer' in b
    ]
    images = tmp_path / 'my_images'
    images.mkdir()
    for name in ('000000.png', '000001.png'):
        shutil.copy(osp.join(shapes_root, 'val', name), images)
    model = re.search(r"model='([^']+)'", snippet).group(1)
    weights = re.search(r"weights='([^']+)'", snippet).group(1)
    assert osp.isfile(osp.join(ROOT, model))
    # The checkpoint tools/train.py writes for that config.
    from mmengine.config import Config

    epochs = Config.fromfile(osp.join(ROOT, model)).train_cfg.max_epochs
    name = osp.splitext(osp.basename(model))[0]
    assert weights == f'work_dirs/{name}/epoch_{epochs}.pth'
    code = (
        snippet.replace(model, DEMO)
        .replace(weights, checkpoint)
        .replace("'my_images/'", repr(str(images) + '/'))
        .replace("'outputs/'", repr(str(tmp_path / 'outputs') + '/'))
    )
    assert code != snippet
    exec(compile(code, 'docs/training.md', 'exec'), {})
    for name in ('000000', '000001'):
        assert osp.isfile(tmp_path / 'outputs' / 'vis' / f'{name}.png')
        assert osp.isfile(tmp_path / 'outputs' / 'preds' / f'{name}.json')
