"""Export a trained (Libra) detector to ONNX for ONNX Runtime, then check
that ONNX Runtime detects what PyTorch detects.

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT --shape H W
        [--out FILE] [--images IMG ...] [--num-images 4] [--atol 1e-3]
        [--score-thr 0.3] [--iou-tol 0.9] [--score-tol 0.05] [--eval]

Route: mmdeploy 1.3.1 (its ONNX Runtime backend, static input shape), with
the three patches its last release needs on current torch
(``mmdet_libra_ext/deploy/mmdeploy_compat.py``), this package's rewriter
for MMDetection's BFP (so stock ``mmdet::libra_rcnn`` configs export too;
this package's BFP needs none) and its rewriter of the RPN's
post-processing (MMDetection's proposals).
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
import sys

from mmdet_libra_ext.deploy.evaluate import evaluate
from mmdet_libra_ext.deploy.export import export


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
