"""IoU distribution of sampled negatives: random vs IoU-balanced sampling.

Runs the RoI assigner of CONFIG and three samplers over a few batches of the
config's training data (Libra R-CNN, figure 2 argument: the share of sampled
negatives with IoU > 0.05), prints a table and writes a histogram PNG.

    python tools/analyze_sampling.py [CONFIG] [--batches 8] [--checkpoint CKPT]
        [--out sampling_iou.png] [--data-root DIR]

Proposals come from the config's RPN when a checkpoint is given; otherwise
they imitate an RPN's output: the ground truths jittered at several scales
plus uniformly random boxes (2000 per image).
"""
import argparse
import copy
import os.path as osp
import sys

import matplotlib
import torch

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from sampling_data import assigned_images, load_config  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join(ROOT, 'configs', 'demo',
                          'libra-faster-rcnn_r18_fpn_shapes_demo.py')


def synthetic_proposals(gt, img_shape, n=2000, generator=None):
    """Jittered ground truths and random boxes, like an RPN's output."""
    h, w = img_shape
    boxes = []
    if gt.numel():
        k = n // 2 // gt.size(0) + 1
        wh = (gt[:, 2:] - gt[:, :2]).repeat_interleave(k, 0)
        ctr = ((gt[:, 2:] + gt[:, :2]) / 2).repeat_interleave(k, 0)
        s = torch.rand(len(wh), 1, generator=generator) * 0.6
        ctr = ctr + (torch.rand(ctr.shape, generator=generator) - .5) * 2 * \
            s * wh
        wh = wh * torch.exp((torch.rand(wh.shape, generator=generator) - .5)
                            * 2 * s)
        boxes.append(torch.cat([ctr - wh / 2, ctr + wh / 2], 1))
    m = n - sum(len(b) for b in boxes)
    xy = torch.rand(m, 2, generator=generator) * torch.tensor([w, h])
    wh = torch.rand(m, 2, generator=generator) * torch.tensor([w, h]) / 2 + 4
    boxes.append(torch.cat([xy, xy + wh], 1))
    out = torch.cat(boxes)[:n]
    out[:, 0::2] = out[:, 0::2].clamp(0, w)
    out[:, 1::2] = out[:, 1::2].clamp(0, h)
    return out


def collect(cfg_path, batches, checkpoint=None, seed=0, data_root=None):
    from mmdet.registry import TASK_UTILS
    cfg = load_config(cfg_path, data_root)
    rcnn = cfg.model.train_cfg.rcnn
    base = dict(num=rcnn.sampler.num, pos_fraction=rcnn.sampler.pos_fraction,
                add_gt_as_proposals=True)
    samplers = {
        'random': TASK_UTILS.build(dict(type='RandomSampler', **base)),
        'IoU-balanced (ours)': TASK_UTILS.build(
            dict(type='mmdet_libra_ext.IoUBalancedNegSampler', **base)),
        'IoU-balanced (MMDetection)': TASK_UTILS.build(
            dict(type='IoUBalancedNegSampler', **base)),
        "IoU-balanced (ours, bin_range='negatives')": TASK_UTILS.build(
            dict(type='mmdet_libra_ext.IoUBalancedNegSampler',
                 bin_range='negatives', **base)),
    }
    model = None
    if checkpoint:
        from mmdet.apis import init_detector
        model = init_detector(cfg, checkpoint, device='cpu')
        model.eval()
    g = torch.Generator().manual_seed(seed)
    ious = {k: [] for k in samplers}
    all_neg = []
    for assign, pred, gt in assigned_images(
            cfg, batches, seed, model,
            lambda gt, shape: synthetic_proposals(gt, shape, generator=g)):
        all_neg.append(assign.max_overlaps[assign.gt_inds == 0])
        for name, sampler in samplers.items():
            # sample() adds the gts to the assign result in place.
            a = copy.deepcopy(assign)
            res = sampler.sample(a, pred, gt)
            ious[name].append(a.max_overlaps[res.neg_inds])
    return {k: torch.cat(v) for k, v in ious.items()}, torch.cat(all_neg)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG)
    parser.add_argument('--batches', type=int, default=8)
    parser.add_argument('--checkpoint', default=None)
    parser.add_argument('--out', default='sampling_iou.png')
    parser.add_argument('--data-root', default=None,
                        help='replaces the config\'s train data_root')
    args = parser.parse_args()
    ious, all_neg = collect(args.config, args.batches, args.checkpoint,
                            data_root=args.data_root)
    print('| negatives | count | IoU > 0.05 | mean IoU |')
    print('|---|---|---|---|')
    rows = [('all candidates', all_neg)] + list(ious.items())
    for name, v in rows:
        print(f'| {name} | {v.numel()} | {(v > 0.05).float().mean():.1%} | '
              f'{v.mean():.3f} |')
    fig, ax = plt.subplots(figsize=(7, 4))
    bins = torch.linspace(0, 0.5, 26)
    for name, v in rows:
        ax.hist(v.numpy(), bins=bins.numpy(), histtype='step', density=True,
                label=f'{name} ({(v > 0.05).float().mean():.0%} > 0.05)')
    ax.set_xlabel('IoU of sampled negatives with their best ground truth')
    ax.set_ylabel('density')
    ax.set_yscale('log')
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f'saved {args.out}')


if __name__ == '__main__':
    main()
