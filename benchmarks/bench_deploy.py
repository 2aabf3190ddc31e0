"""ONNX Runtime CPU latency of an exported detector against PyTorch eager
(MMDetection's ``predict``), interleaved in one process.

    python -m benchmarks.bench_deploy [CONFIG CHECKPOINT] [--shape H W]
        [--repeats 30] [--image IMG]

Without a checkpoint the config's detector is exported with its initial
weights (seed 0): latency does not depend on the weights, except through
the number of boxes that reach NMS, so a trained checkpoint is the
representative case. Both sides run one image of the fixed shape with the
same number of threads; the ratio is the median of per-round ratios with a
95% bootstrap interval, and a second ONNX Runtime session timed in the same
rounds is the A/A control.
"""

import argparse
import os.path as osp
import tempfile
import time

import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
from benchmarks.common import paired_ratio  # noqa: E402
from mmdet_libra_ext.deploy.export import export  # noqa: E402

DEMO = osp.join(
    ROOT, 'configs', 'demo', 'libra-faster-rcnn_r18_fpn_shapes_demo.py'
)


def initial_checkpoint(config, path):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import mmdet_libra_ext  # noqa: F401

    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(config).model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path


def latency(config, checkpoint, shape_hw, repeats, work, image=None):
    import onnxruntime as ort
    from mmdeploy.apis.utils import build_task_processor
    from mmengine.config import Config

    from mmdet_libra_ext.deploy.export import deploy_config
    from mmdet_libra_ext.deploy.parity import parity_images

    out = osp.join(work, 'model.onnx')
    images = [image] if image else []
    failures, _ = export(
        config, checkpoint, shape_hw, out, images, num_images=1
    )
    if failures:
        raise SystemExit('\n'.join(failures))
    model_cfg = Config.fromfile(config)
    task = build_task_processor(
        model_cfg, deploy_config(model_cfg, shape_hw, 'model.onnx'), 'cpu'
    )
    model = task.build_pytorch_model(checkpoint)
    image = parity_images(model_cfg, images, 1)[0]
    data, inputs = task.create_input(
        image, [shape_hw[1], shape_hw[0]], model.data_preprocessor
    )
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = torch.get_num_threads()
    opts.inter_op_num_threads = 1
    sessions = [
        ort.InferenceSession(out, opts, providers=['CPUExecutionProvider'])
        for _ in range(2)
    ]
    feed = {'input': inputs.numpy()}

    def eager():
        with torch.no_grad():
            model.predict(inputs, data['data_samples'], rescale=False)

    runs = {
        'torch': eager,
        'ort': lambda: sessions[0].run(None, feed),
        'ort copy': lambda: sessions[1].run(None, feed),
    }
    for fn in runs.values():
        for _ in range(3):
            fn()
    times = {k: [] for k in runs}
    names = list(runs)
    for r in range(repeats):
        for name in names[r % 3 :] + names[: r % 3]:
            t0 = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - t0)
    return (
        paired_ratio(times['ort'], times['torch']),
        paired_ratio(times['ort copy'], times['ort']),
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('config', nargs='?', default=DEMO)
    parser.add_argument('checkpoint', nargs='?', default=None)
    parser.add_argument('--shape', nargs=2, type=int, default=(256, 256))
    parser.add_argument('--repeats', type=int, default=30)
    parser.add_argument(
        '--image',
        default=None,
        help="default: the first of the config's test set",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        ckpt = args.checkpoint or initial_checkpoint(
            args.config, osp.join(work, 'init.pth')
        )
        ratio, aa = latency(
            args.config, ckpt, args.shape, args.repeats, work, args.image
        )
    print(
        f'\ntorch {torch.__version__}, {torch.get_num_threads()} threads, '
        f'{args.repeats} interleaved rounds, one {args.shape[0]}x'
        f'{args.shape[1]} image, {osp.basename(args.config)}'
        f'{"" if args.checkpoint else " (initial weights)"}'
    )
    print('\n| measure | ratio [95% CI] |\n|---|---|')
    print(
        f'| ONNX Runtime / PyTorch eager | {ratio[0]:.3f} '
        f'[{ratio[1]:.3f}, {ratio[2]:.3f}] |'
    )
    print(
        f'| ONNX Runtime, second session / first (A/A) | {aa[0]:.3f} '
        f'[{aa[1]:.3f}, {aa[2]:.3f}] |'
    )


if __name__ == '__main__':
    main()
