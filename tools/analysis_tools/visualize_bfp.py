"""Show what the Balanced Feature Pyramid does to one image: the FPN feature
energy (mean squared activation over channels) of every level before and
after BFP, as a PNG.

    python tools/analysis_tools/visualize_bfp.py [CONFIG] [--checkpoint CKPT]
        [--image data/shapes/val/000000.png] [--out bfp_energy.png]

CONFIG must have a neck list ``[FPN, BFP]`` (default: the Libra demo). Without
a checkpoint the weights are the config's initialisation.
"""

import argparse
import os.path as osp

import cv2
import matplotlib
import torch

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(
    ROOT, 'configs', 'demo', 'libra-faster-rcnn_r18_fpn_shapes_demo.py'
)


def energies(config, checkpoint, image, size=256):
    from mmdet.apis import init_detector

    model = init_detector(config, checkpoint, device='cpu')
    model.eval()
    neck = model.neck
    if not isinstance(neck, torch.nn.Sequential) or len(neck) < 2:
        raise ValueError(
            'the config needs a neck list [FPN, BFP], got '
            f'{type(neck).__name__}'
        )
    img = cv2.imread(image)
    if img is None:
        raise FileNotFoundError(image)
    scale = size / max(img.shape[:2])
    img = cv2.resize(img, None, fx=scale, fy=scale)
    inputs = torch.from_numpy(img).permute(2, 0, 1).contiguous()
    data = model.data_preprocessor({'inputs': [inputs]}, training=False)
    with torch.no_grad():
        fpn = neck[0](model.backbone(data['inputs']))
        bfp = neck[1](fpn)
    return (
        img,
        [f[0].pow(2).mean(0) for f in fpn],
        [f[0].pow(2).mean(0) for f in bfp],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG)
    parser.add_argument('--checkpoint', default=None)
    parser.add_argument(
        '--image', default=osp.join('data', 'shapes', 'val', '000000.png')
    )
    parser.add_argument('--out', default='bfp_energy.png')
    args = parser.parse_args()
    img, before, after = energies(args.config, args.checkpoint, args.image)
    n = len(before)
    fig, axes = plt.subplots(2, n + 1, figsize=(2.6 * (n + 1), 5.4))
    for row in axes:
        row[0].imshow(img[..., ::-1])
        row[0].axis('off')
    axes[0][0].set_title('image')
    for i, (b, a) in enumerate(zip(before, after)):
        vmax = max(b.max(), a.max()).item()
        axes[0][i + 1].imshow(b, cmap='magma', vmin=0, vmax=vmax)
        axes[1][i + 1].imshow(a, cmap='magma', vmin=0, vmax=vmax)
        axes[0][i + 1].set_title(f'FPN P{i + 2}: {b.mean():.3g}', fontsize=8)
        axes[1][i + 1].set_title(f'after BFP: {a.mean():.3g}', fontsize=8)
        for ax in (axes[0][i + 1], axes[1][i + 1]):
            ax.axis('off')
    fig.suptitle('feature energy (mean squared activation) per level')
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f'saved {args.out}')
    for i, (b, a) in enumerate(zip(before, after)):
        print(f'level {i}: energy before {b.mean():.4g}, after {a.mean():.4g}')


if __name__ == '__main__':
    main()
