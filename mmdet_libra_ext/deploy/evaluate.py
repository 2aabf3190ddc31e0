"""The deployed detector's accuracy over the config's test set, ONNX
Runtime's detections beside MMDetection's ``predict`` (``export_onnx.py
--eval``)."""

import copy
import os.path as osp
from typing import Any, Dict, Optional, Sequence

import numpy as np
import torch

from ..utils.checkpoint import check_not_legacy_fit
from .export import check_supported, deploy_config
from .parity import build_test_dataset, matched


def with_ground_truth(sample: Any, packed: Any) -> Any:
    """Give ``sample`` (the deployment's input, made from the image alone)
    the ground truth the config's own test pipeline packs, as
    MMDetection's ``tools/test.py`` hands it to the evaluator: the metrics
    that read it from the samples (``VOCMetric``, a ``CocoMetric``
    without an annotation file) need it; one with an annotation file
    reads its own."""
    for key in ('gt_instances', 'ignored_instances'):
        if key in packed:
            setattr(sample, key, getattr(packed, key))
    if 'instances' in packed.metainfo:
        sample.set_metainfo(dict(instances=packed.instances))
    return sample


def evaluate(
    config: str,
    checkpoint: str,
    onnx_file: str,
    shape_hw: Sequence[int],
    score_thr: float = 0.3,
    iou_tol: float = 0.9,
    score_tol: float = 0.05,
    limit: Optional[int] = None,
    device: str = 'cpu',
) -> Dict[str, Any]:
    """The deployed detector's accuracy: ONNX Runtime's detections and
    MMDetection's own ``predict`` (on the same static-shape inputs), each
    through the config's test evaluator over the whole test set.

    Returns ``{'onnxruntime': metrics, 'mmdetection': metrics, 'matched':
    (m, t)}``, ``matched`` as in :func:`export` over every image.
    """
    from mmengine.config import Config

    model_cfg = Config.fromfile(config)
    check_not_legacy_fit(model_cfg, checkpoint)
    check_supported(model_cfg, shape_hw)
    import onnxruntime as ort
    from mmdeploy.apis.utils import build_task_processor
    from mmengine.evaluator import Evaluator
    from mmengine.structures import InstanceData

    import mmdet_libra_ext  # noqa: F401

    from . import enable_mmdet_rewriters

    enable_mmdet_rewriters()

    deploy_cfg = deploy_config(model_cfg, shape_hw, osp.basename(onnx_file))
    task = build_task_processor(model_cfg, deploy_cfg, device)
    model = task.build_pytorch_model(checkpoint)
    session = ort.InferenceSession(
        onnx_file, providers=['CPUExecutionProvider']
    )
    dataset = build_test_dataset(model_cfg)
    evaluators = {}
    for name in ('onnxruntime', 'mmdetection'):
        evaluators[name] = Evaluator(copy.deepcopy(model_cfg.test_evaluator))
        evaluators[name].dataset_meta = dataset.metainfo
    agree = [0, 0]
    count = len(dataset) if limit is None else min(limit, len(dataset))
    for i in range(count):
        info = dataset.get_data_info(i)
        data, inputs = task.create_input(
            info['img_path'],
            [shape_hw[1], shape_hw[0]],
            model.data_preprocessor,
        )
        sample = data['data_samples'][0]
        sample.set_metainfo(dict(img_id=info['img_id']))
        with_ground_truth(sample, dataset[i]['data_samples'])
        dets, labels = session.run(None, {'input': inputs.cpu().numpy()})
        dets, labels = dets[0], labels[0]
        keep = dets[:, 4] > 0  # rows the graph pads with zeros
        dets, labels = dets[keep], labels[keep]
        sx, sy = sample.metainfo['scale_factor']
        boxes = torch.from_numpy(dets[:, :4] / np.array([sx, sy, sx, sy]))
        h, w = sample.metainfo['ori_shape']
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, w)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, h)
        deployed = sample.clone()
        deployed.pred_instances = InstanceData(
            bboxes=boxes.float(),
            scores=torch.from_numpy(dets[:, 4]).float(),
            labels=torch.from_numpy(labels).long(),
        )
        with torch.no_grad():
            ref = model.predict(inputs, [sample.clone()], rescale=True)[0]
        evaluators['onnxruntime'].process([deployed])
        evaluators['mmdetection'].process([ref])
        pred = ref.pred_instances
        m, t = matched(
            (
                pred.bboxes.cpu().numpy(),
                pred.scores.cpu().numpy(),
                pred.labels.cpu().numpy(),
            ),
            (boxes.numpy(), dets[:, 4], labels),
            score_thr,
            iou_tol,
            score_tol,
        )
        agree[0] += m
        agree[1] += t
    out = {k: e.evaluate(count) for k, e in evaluators.items()}
    out['matched'] = tuple(agree)
    return out
