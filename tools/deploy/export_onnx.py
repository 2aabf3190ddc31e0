"""Export a trained (Libra) detector to ONNX for ONNX Runtime, then check
that ONNX Runtime detects what PyTorch detects.

    python tools/deploy/export_onnx.py CONFIG CHECKPOINT --shape H W
        [--out FILE] [--images IMG ...] [--num-images 4] [--atol 1e-3]
        [--score-thr 0.3] [--iou-tol 0.9] [--score-tol 0.05] [--eval]

Route: mmdeploy 1.3.1 (its ONNX Runtime backend, static input shape), with
the three patches of ``mmdeploy_compat.py`` that its last release needs on
current torch, this package's rewriter for MMDetection's BFP (so stock
``mmdet::libra_rcnn`` configs export too; this package's BFP needs none)
and its rewriter of the RPN's post-processing (MMDetection's proposals).
MMDetection's RoIAlign and NMS become the standard ONNX ``RoiAlign`` and
``NonMaxSuppression``: the file runs on a stock ``onnxruntime``, no custom
operator library.

The input shape is fixed (``H`` and ``W`` multiples of the model's
``pad_size_divisor``): images are resized to exactly ``H x W``, as
mmdeploy's static configs do. The graph takes ``input`` (1, 3, H, W), the
normalised image, and returns ``dets`` (1, K, 5: x1, y1, x2, y2, score in
input pixels) and ``labels`` (1, K).

Parity check, on the same preprocessed images:

1. ONNX Runtime against PyTorch running the exported computation (the
   detector under mmdeploy's rewriters, eager): every output row (box and
   score) has a row of the same label on the other side within ``--atol``
   (default 1e-3: float rounding), compared as sets because the two
   runtimes may order near-equal scores differently. The command exits
   with status 1 when they differ, naming the image.
2. ONNX Runtime against the detector's own ``predict`` (MMDetection's
   post-processing), reported, not enforced: the share of the PyTorch
   detections scoring at least ``--score-thr`` that ONNX Runtime also
   gives (same class, IoU >= ``--iou-tol``, score within
   ``--score-tol``). This package's rewriter of ``RPNHead.predict_by_feat``
   (``mmdet_libra_ext/deploy/rpn_head_rewriter.py``) makes the graph's
   proposals MMDetection's (per-level NMS, no score threshold on
   proposals), where mmdeploy's own suppresses across levels and drops
   proposals below the detection score threshold.

``--eval``: the deployed detector's accuracy over the config's whole test
set, through the config's own evaluator (COCO box mAP...), ONNX Runtime's
detections beside MMDetection's ``predict`` on the same inputs, and the
share of matched detections over every image (docs/deploy.md).
"""

import argparse
import copy
import os
import os.path as osp
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from mmdeploy_compat import torch_compat  # noqa: E402

#: The detectors this export covers (mmdeploy's ObjectDetection task, one
#: image in, boxes out); others are refused by name.
SUPPORTED = ('FasterRCNN', 'RetinaNet', 'RPN')


def check_supported(model_cfg, shape_hw) -> None:
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


def deploy_config(model_cfg, shape_hw, save_file):
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


def matched(src, dst, score_thr, iou_tol, score_tol):
    """``(matched, total)``: of the detections of ``src`` (boxes, scores,
    labels) scoring at least ``score_thr``, how many have a detection of
    ``dst`` with the same label, IoU >= ``iou_tol`` and a score within
    ``score_tol``."""
    (sb, ss, sl), (db, ds, dl) = src, dst
    keep = ss >= score_thr
    sb, ss, sl = sb[keep], ss[keep], sl[keep]
    if not len(sb) or not len(db):
        return 0, len(sb)
    from mmdet.evaluation.functional import bbox_overlaps

    ok = (
        (bbox_overlaps(sb, db) >= iou_tol)
        & (sl[:, None] == dl[None])
        & (np.abs(ss[:, None] - ds[None]) <= score_tol)
    )
    return int(ok.any(1).sum()), len(sb)


def rows_without_counterpart(a, a_labels, b, b_labels, atol):
    """Rows of ``a`` (K, 5: box and score) with no row of ``b`` of the same
    label within ``atol`` in all five values (rows are compared as a set:
    near-equal scores may be ordered differently by the two runtimes)."""
    close = (np.abs(a[:, None, :] - b[None, :, :]).max(-1) <= atol) & (
        a_labels[:, None] == b_labels[None, :]
    )
    return int((~close.any(1)).sum())


def parity_images(model_cfg, images, num):
    """``images``, or the first ``num`` images of the config's test dataset
    in its own order, as MMDetection's test loop reads them (the data
    list's ``img_path``: annotation file names with sub-folders, or a
    dataset that is not a folder of images, work alike)."""
    if images:
        return images
    dataset = _test_dataset(model_cfg)
    cfg = model_cfg.test_dataloader.dataset
    if len(dataset) == 0:
        raise SystemExit(
            f'the test dataset of the config ({cfg.get("ann_file")!r} under '
            f'{cfg.get("data_root")!r}) has no image; pass --images'
        )
    return [
        dataset.get_data_info(i)['img_path']
        for i in range(min(num, len(dataset)))
    ]


def checkpoint_mismatches(model_cfg, checkpoint):
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
    found = []
    for name, tensor in model.state_dict().items():
        saved = state.get(name)
        if saved is None:
            found.append((name, None, tuple(tensor.shape)))
        elif tuple(saved.shape) != tuple(tensor.shape):
            found.append((name, tuple(saved.shape), tuple(tensor.shape)))
    return found


def check_checkpoint_fits(model_cfg, checkpoint, config=''):
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
    config,
    checkpoint,
    shape_hw,
    out,
    images=(),
    num_images=4,
    atol=1e-3,
    score_thr=0.3,
    iou_tol=0.9,
    score_tol=0.05,
    device='cpu',
):
    """Export and check. Returns ``(failures, agreement)``: the images where
    ONNX Runtime and the exported computation in PyTorch differ (empty when
    they agree), and ``(matched, total)`` detections of MMDetection's own
    ``predict`` that ONNX Runtime also gives (see the module docstring)."""
    from mmengine.config import Config

    model_cfg = Config.fromfile(config)
    check_supported(model_cfg, shape_hw)  # before the slow imports
    check_checkpoint_fits(model_cfg, checkpoint, config)
    import onnxruntime as ort
    from mmdeploy.apis import torch2onnx
    from mmdeploy.apis.utils import build_task_processor
    from mmdeploy.core import RewriterContext
    from mmdet.utils import register_all_modules

    import mmdet_libra_ext  # noqa: F401  (also registers the rewriters)

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
    return failures, tuple(agree)


def _test_dataset(model_cfg):
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    register_all_modules()
    cfg = copy.deepcopy(model_cfg.test_dataloader.dataset)
    cfg['lazy_init'] = False
    return DATASETS.build(cfg)


def with_ground_truth(sample, packed):
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
    config,
    checkpoint,
    onnx_file,
    shape_hw,
    score_thr=0.3,
    iou_tol=0.9,
    score_tol=0.05,
    limit=None,
    device='cpu',
):
    """The deployed detector's accuracy: ONNX Runtime's detections and
    MMDetection's own ``predict`` (on the same static-shape inputs), each
    through the config's test evaluator over the whole test set.

    Returns ``{'onnxruntime': metrics, 'mmdetection': metrics, 'matched':
    (m, t)}``, ``matched`` as in :func:`export` over every image.
    """
    from mmengine.config import Config

    model_cfg = Config.fromfile(config)
    check_supported(model_cfg, shape_hw)
    import onnxruntime as ort
    from mmdeploy.apis.utils import build_task_processor
    from mmengine.evaluator import Evaluator
    from mmengine.structures import InstanceData

    import mmdet_libra_ext  # noqa: F401

    deploy_cfg = deploy_config(model_cfg, shape_hw, osp.basename(onnx_file))
    task = build_task_processor(model_cfg, deploy_cfg, device)
    model = task.build_pytorch_model(checkpoint)
    session = ort.InferenceSession(
        onnx_file, providers=['CPUExecutionProvider']
    )
    dataset = _test_dataset(model_cfg)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument(
        '--shape', nargs=2, type=int, required=True, metavar=('H', 'W')
    )
    parser.add_argument('--out', default='work_dirs/onnx/end2end.onnx')
    parser.add_argument(
        '--images',
        nargs='*',
        default=[],
        help='parity-check images (default: the first '
        "--num-images of the config's test set)",
    )
    parser.add_argument('--num-images', type=int, default=4)
    parser.add_argument('--atol', type=float, default=1e-3)
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--iou-tol', type=float, default=0.9)
    parser.add_argument('--score-tol', type=float, default=0.05)
    parser.add_argument(
        '--eval',
        action='store_true',
        help="also evaluate the exported model on the config's whole "
        "test set with its evaluator, beside MMDetection's predict",
    )
    args = parser.parse_args()
    failures, (m, t) = export(
        args.config,
        args.checkpoint,
        args.shape,
        args.out,
        args.images,
        args.num_images,
        args.atol,
        args.score_thr,
        args.iou_tol,
        args.score_tol,
    )
    print(f'wrote {args.out}')
    print(
        f"MMDetection's own predictions: {m} of {t} detections with "
        f'score >= {args.score_thr} also from ONNX Runtime (same class, '
        f'IoU >= {args.iou_tol}, score within {args.score_tol})'
    )
    if failures:
        print('parity check FAILED:\n' + '\n'.join(failures))
        sys.exit(1)
    print(
        f'parity check passed: ONNX Runtime gives the exported '
        f"computation's outputs within {args.atol}"
    )
    if args.eval:
        result = evaluate(
            args.config,
            args.checkpoint,
            args.out,
            args.shape,
            args.score_thr,
            args.iou_tol,
            args.score_tol,
        )
        m, t = result['matched']
        for key in sorted(result['mmdetection']):
            print(
                f'{key}: ONNX Runtime {result["onnxruntime"][key]:.4f}, '
                f'MMDetection {result["mmdetection"][key]:.4f}'
            )
        print(
            f'whole test set: {m} of {t} MMDetection detections '
            f'(score >= {args.score_thr}) also from ONNX Runtime'
        )


if __name__ == '__main__':
    main()
