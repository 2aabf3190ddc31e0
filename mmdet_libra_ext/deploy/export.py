"""Export a trained detector to ONNX for ONNX Runtime through mmdeploy
1.3.1 and check that ONNX Runtime detects what PyTorch detects (the library
behind ``tools/deployment/export_onnx.py``; see its docstring and
docs/deploy.md)."""

import copy
import os
import os.path as osp
import tempfile
from typing import Any, List, Optional, Sequence, Tuple

import torch

from ..utils.checkpoint import check_not_legacy_fit
from .mmdeploy_compat import torch_compat
from .parity import matched, parity_images, rows_without_counterpart

#: The detectors this export covers (mmdeploy's ObjectDetection task, one
#: image in, boxes out); others are refused by name.
SUPPORTED = ('FasterRCNN', 'RetinaNet', 'RPN')


def check_supported(model_cfg: Any, shape_hw: Sequence[int]) -> None:
    """Refuse, naming it, what this export does not do: another detector
    type, a mask head, a dynamic (non-positive) or unpadded input shape."""
    model = model_cfg.model
    kind = model.type.split('.')[-1]
    if kind not in SUPPORTED:
        raise SystemExit(
            f'{model.type}: not supported (supported: {", ".join(SUPPORTED)})'
        )
    if model.get('roi_head') and model.roi_head.get('mask_head'):
        raise SystemExit(
            f'{model.type} with a mask head: instance '
            f'segmentation is not supported'
        )
    div = model.data_preprocessor.get('pad_size_divisor', 1)
    if any(s <= 0 for s in shape_hw):
        raise SystemExit(
            f'--shape {shape_hw[0]} {shape_hw[1]}: dynamic '
            f'input shapes are not supported; give a fixed H W'
        )
    if any(s % div for s in shape_hw):
        raise SystemExit(
            f'--shape {shape_hw[0]} {shape_hw[1]}: both must '
            f"be multiples of the model's pad_size_divisor "
            f'({div})'
        )


def deploy_config(
    model_cfg: Any, shape_hw: Sequence[int], save_file: str
) -> Any:
    """mmdeploy's ONNX Runtime static detection config for ``shape_hw``,
    with the detector's own test-time thresholds."""
    from mmengine.config import Config

    test = model_cfg.model.test_cfg
    # The last stage's settings: the RoI head's, an RPN's or a dense head's.
    head = test.get('rcnn') or test.get('rpn') or test
    nms = head.get('nms', {})
    max_per_img = int(head.get('max_per_img', 100))
    post = dict(
        score_threshold=float(head.get('score_thr', 0.0)),
        confidence_threshold=0.005,
        iou_threshold=float(nms.get('iou_threshold', 0.5)),
        max_output_boxes_per_class=max_per_img,
        pre_top_k=int(head.get('nms_pre', 5000))
        if 'nms_pre' in head
        else 5000,
        keep_top_k=max_per_img,
        background_label_id=-1,
    )
    return Config(
        dict(
            onnx_config=dict(
                type='onnx',
                export_params=True,
                keep_initializers_as_inputs=False,
                opset_version=11,
                save_file=save_file,
                input_names=['input'],
                output_names=['dets', 'labels'],
                input_shape=[shape_hw[1], shape_hw[0]],
                optimize=True,
            ),
            codebase_config=dict(
                type='mmdet',
                task='ObjectDetection',
                model_type='end2end',
                post_processing=post,
            ),
            backend_config=dict(type='onnxruntime'),
        )
    )


def checkpoint_mismatches(
    model_cfg: Any, checkpoint: str
) -> List[Tuple[str, Optional[Tuple[int, ...]], Tuple[int, ...]]]:
    """What of ``checkpoint`` does not fit the detector ``model_cfg``
    builds: ``[(name, checkpoint shape or None, model shape)]`` for every
    parameter or buffer of the model that the checkpoint lacks or holds in
    another shape. Loading such a checkpoint leaves those tensors at their
    random initial values (with a mere warning), so the exported model
    would not be the trained one."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules()
    model = MODELS.build(copy.deepcopy(model_cfg.model))
    try:
        state = torch.load(checkpoint, map_location='cpu', weights_only=True)
    except Exception as e:  # a missing, corrupt or unsafe file
        raise SystemExit(f'cannot read checkpoint {checkpoint}: {e}') from e
    state = state.get('state_dict', state)
    found: List[Tuple[str, Optional[Tuple[int, ...]], Tuple[int, ...]]] = []
    for name, tensor in model.state_dict().items():
        saved = state.get(name)
        if saved is None:
            found.append((name, None, tuple(tensor.shape)))
        elif tuple(saved.shape) != tuple(tensor.shape):
            found.append((name, tuple(saved.shape), tuple(tensor.shape)))
    return found


def check_checkpoint_fits(
    model_cfg: Any, checkpoint: str, config: str = ''
) -> None:
    """Refuse (SystemExit, naming the tensors and both shapes) a checkpoint
    that does not fit the config's detector."""
    bad = checkpoint_mismatches(model_cfg, checkpoint)
    if not bad:
        return
    lines = [
        f'  {name}: missing from the checkpoint (model {list(shape)})'
        if saved is None
        else f'  {name}: checkpoint {list(saved)}, model {list(shape)}'
        for name, saved, shape in bad[:20]
    ]
    more = f'\n  ... and {len(bad) - 20} more' if len(bad) > 20 else ''
    raise SystemExit(
        f'checkpoint {checkpoint} does not fit the detector of '
        f'{config or "the config"}: {len(bad)} tensors differ\n'
        + '\n'.join(lines)
        + more
        + '\n(a checkpoint trained with another number of classes or '
        'another model? export it with the config it was trained with)'
    )


def export(
    config: str,
    checkpoint: str,
    shape_hw: Sequence[int],
    out: str,
    images: Sequence[str] = (),
    num_images: int = 4,
    atol: float = 1e-3,
    score_thr: float = 0.3,
    iou_tol: float = 0.9,
    score_tol: float = 0.05,
    device: str = 'cpu',
) -> Tuple[List[str], Tuple[int, int]]:
    """Export and check. Returns ``(failures, agreement)``: the images where
    ONNX Runtime and the exported computation in PyTorch differ (empty when
    they agree), and ``(matched, total)`` detections of MMDetection's own
    ``predict`` that ONNX Runtime also gives (see the module docstring)."""
    from mmengine.config import Config

    model_cfg = Config.fromfile(config)
    check_not_legacy_fit(model_cfg, checkpoint)
    check_supported(model_cfg, shape_hw)  # before the slow imports
    check_checkpoint_fits(model_cfg, checkpoint, config)
    import onnxruntime as ort
    from mmdeploy.apis import torch2onnx
    from mmdeploy.apis.utils import build_task_processor
    from mmdeploy.core import RewriterContext
    from mmdet.utils import register_all_modules

    import mmdet_libra_ext  # noqa: F401

    from . import enable_mmdet_rewriters

    enable_mmdet_rewriters()

    register_all_modules()
    out = osp.abspath(out)
    os.makedirs(osp.dirname(out), exist_ok=True)
    deploy_cfg = deploy_config(model_cfg, shape_hw, osp.basename(out))
    images = parity_images(model_cfg, list(images), num_images)
    with torch_compat(), tempfile.TemporaryDirectory():
        torch2onnx(
            images[0],
            osp.dirname(out),
            osp.basename(out),
            deploy_cfg,
            model_cfg,
            checkpoint,
            device=device,
        )
    task = build_task_processor(model_cfg, deploy_cfg, device)
    model = task.build_pytorch_model(checkpoint)
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    failures, agree = [], [0, 0]
    for path in images:
        data, inputs = task.create_input(
            path, [shape_hw[1], shape_hw[0]], model.data_preprocessor
        )
        assert tuple(inputs.shape[-2:]) == tuple(shape_hw), inputs.shape
        samples = data['data_samples']
        dets, labels = session.run(None, {'input': inputs.cpu().numpy()})
        with torch.no_grad():
            with (
                torch_compat(),
                RewriterContext(cfg=deploy_cfg, backend='onnxruntime'),
            ):
                ref_dets, ref_labels = model(inputs, samples, mode='predict')
            pred = model.predict(inputs, samples, rescale=False)[
                0
            ].pred_instances
        name = osp.basename(path)
        ref, ref_labels = (
            ref_dets.cpu().numpy()[0],
            ref_labels.cpu().numpy()[0],
        )
        missing = (
            rows_without_counterpart(
                ref, ref_labels, dets[0], labels[0], atol
            ),
            rows_without_counterpart(
                dets[0], labels[0], ref, ref_labels, atol
            ),
        )
        if ref.shape != dets[0].shape or any(missing):
            failures.append(
                f'{name}: ONNX Runtime differs from the exported '
                f'computation in PyTorch: shapes {ref.shape} and '
                f'{dets[0].shape}, {missing[0]} and {missing[1]} '
                f'outputs without a counterpart within {atol}'
            )
        m, t = matched(
            (
                pred.bboxes.cpu().numpy(),
                pred.scores.cpu().numpy(),
                pred.labels.cpu().numpy(),
            ),
            (dets[0, :, :4], dets[0, :, 4], labels[0]),
            score_thr,
            iou_tol,
            score_tol,
        )
        agree[0] += m
        agree[1] += t
        print(
            f'{name}: {len(ref) - missing[0]} of {len(ref)} outputs '
            f'equal within {atol}; {m} of {t} MMDetection detections '
            f'(score >= {score_thr}) also from ONNX Runtime'
        )
    return failures, (agree[0], agree[1])
