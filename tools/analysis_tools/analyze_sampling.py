"""IoU distribution of sampled negatives: random vs IoU-balanced sampling.

Runs the RoI assigner of CONFIG and five samplers over a few batches of the
config's training data (Libra R-CNN, figure 2 argument: the share of sampled
negatives with IoU > 0.05), prints a table and writes a histogram PNG.

    python tools/analysis_tools/analyze_sampling.py [CONFIG] [--rpn]
        [--batches 8] [--checkpoint CKPT] [--out sampling_iou.png]
        [--data-root DIR]

Proposals come from the config's RPN when a checkpoint is given; otherwise
they imitate an RPN's output: the ground truths jittered at several scales
plus uniformly random boxes (2000 per image).

With ``--rpn`` the candidates are the RPN's anchors instead, labelled by the
RPN's assigner and sampled with the RPN sampler's ``num`` and
``pos_fraction`` (no ground truths added). It also counts the images where
MMDetection's bins degenerate (mmdetection#5323): the bins span
``[0, max IoU over all anchors)``, so when that maximum reaches
``num_bins * neg_iou_thr`` every negative lies in the first bin.
"""

import argparse
import copy
import os.path as osp

import matplotlib
import torch

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from mmdet_libra_ext.analysis import (  # noqa: E402
    assigned_images,
    load_config,
    synthetic_proposals,
)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(
    ROOT, 'configs', 'demo', 'libra-faster-rcnn_r18_fpn_shapes_demo.py'
)
DEFAULT_RPN_CONFIG = osp.join(
    ROOT, 'configs', 'demo', 'libra-rpn_r18_fpn_shapes_demo.py'
)
NUM_BINS = 3


def collect(
    cfg_path, batches, checkpoint=None, seed=0, data_root=None, stage='rcnn'
):
    """Sampled negatives' IoUs per sampler, all negatives' IoUs, and each
    image's maximum IoU over all candidates."""
    from mmdet.registry import TASK_UTILS

    cfg = load_config(cfg_path, data_root)
    sampler = cfg.model.train_cfg[stage].sampler
    base = dict(
        num=sampler.num,
        pos_fraction=sampler.pos_fraction,
        add_gt_as_proposals=stage == 'rcnn',
        num_bins=NUM_BINS,
    )
    random = {k: v for k, v in base.items() if k != 'num_bins'}

    def ours(**options):
        return TASK_UTILS.build(
            dict(
                type='mmdet_libra_ext.IoUBalancedNegSampler', **base, **options
            )
        )

    samplers = {
        'random': TASK_UTILS.build(dict(type='RandomSampler', **random)),
        'IoU-balanced (ours)': ours(),
        'IoU-balanced (MMDetection)': TASK_UTILS.build(
            dict(type='IoUBalancedNegSampler', **base)
        ),
        "IoU-balanced (ours, bin_range='negatives')": ours(
            bin_range='negatives'
        ),
        # Half of the quota from the zero-IoU floor, the rest as above.
        "IoU-balanced (ours, bin_range='negatives', floor_fraction=0.5)": (
            ours(bin_range='negatives', floor_fraction=0.5)
        ),
    }
    model = None
    if checkpoint:
        from mmdet.apis import init_detector

        from mmdet_libra_ext.utils.checkpoint import check_not_legacy_fit

        check_not_legacy_fit(cfg, checkpoint)
        model = init_detector(cfg, checkpoint, device='cpu')
        model.eval()
    g = torch.Generator().manual_seed(seed)
    ious = {k: [] for k in samplers}
    all_neg, max_iou, first_bin = [], [], []
    for assign, pred, gt in assigned_images(
        cfg,
        batches,
        seed,
        model,
        lambda gt, shape: synthetic_proposals(gt, shape, generator=g),
        stage=stage,
    ):
        neg = assign.max_overlaps[assign.gt_inds == 0]
        all_neg.append(neg)
        max_iou.append(assign.max_overlaps.max())
        # Share of the IoU-balanced set (IoU > 0) in MMDetection's first bin.
        hard = neg[neg > 0]
        first_bin.append(
            (hard < max_iou[-1] / NUM_BINS).float().mean()
            if hard.numel()
            else torch.tensor(1.0)
        )
        for name, sampler in samplers.items():
            # sample() adds the gts to the assign result in place.
            a = copy.deepcopy(assign)
            res = sampler.sample(a, pred, gt)
            ious[name].append(a.max_overlaps[res.neg_inds])
    return (
        {k: torch.cat(v) for k, v in ious.items()},
        torch.cat(all_neg),
        torch.stack(max_iou),
        torch.stack(first_bin),
        cfg.model.train_cfg[stage].assigner,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'config',
        nargs='?',
        default=None,
        help='default: the Libra Faster R-CNN demo, with '
        '--rpn the Libra RPN demo',
    )
    parser.add_argument(
        '--rpn',
        action='store_true',
        help="sample the RPN's anchors instead of RoIs",
    )
    parser.add_argument('--batches', type=int, default=8)
    parser.add_argument('--checkpoint', default=None)
    parser.add_argument('--out', default='sampling_iou.png')
    parser.add_argument(
        '--data-root',
        default=None,
        help="replaces the config's train data_root",
    )
    args = parser.parse_args()
    stage = 'rpn' if args.rpn else 'rcnn'
    config = args.config or (
        DEFAULT_RPN_CONFIG if args.rpn else DEFAULT_CONFIG
    )
    ious, all_neg, max_iou, first_bin, assigner = collect(
        config,
        args.batches,
        args.checkpoint,
        data_root=args.data_root,
        stage=stage,
    )
    print('| negatives | count | IoU = 0 | IoU > 0.05 | mean IoU |')
    print('|---|---|---|---|---|')
    rows = [('all candidates', all_neg)] + list(ious.items())
    for name, v in rows:
        print(
            f'| {name} | {v.numel()} | {(v == 0).float().mean():.1%} | '
            f'{(v > 0.05).float().mean():.1%} | {v.mean():.3f} |'
        )
    # MMDetection's first bin edge is max IoU / num_bins: at or above the
    # negatives' threshold, every negative is in the first bin.
    thr = assigner.neg_iou_thr
    degenerate = (max_iou / NUM_BINS >= thr).sum().item()
    print(
        f'\nmax IoU over all candidates >= {NUM_BINS} x neg_iou_thr '
        f'({NUM_BINS * thr:.2f}), all negatives in the first of '
        f'{NUM_BINS} bins: {degenerate} of {len(max_iou)} images '
        f'({degenerate / len(max_iou):.0%}); share of the negatives with '
        f'IoU > 0 in the first bin: median {first_bin.median():.1%} per '
        f'image (range {first_bin.min():.1%} to {first_bin.max():.1%})'
    )
    fig, ax = plt.subplots(figsize=(7, 4))
    # Negatives lie below the assigner's negative threshold.
    bins = torch.linspace(0, float(assigner.neg_iou_thr), 26)
    for name, v in rows:
        ax.hist(
            v.numpy(),
            bins=bins.numpy(),
            histtype='step',
            density=True,
            label=f'{name} ({(v > 0.05).float().mean():.0%} > 0.05)',
        )
    ax.set_xlabel('IoU of sampled negatives with their best ground truth')
    ax.set_ylabel('density')
    ax.set_yscale('log')
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f'saved {args.out}')


if __name__ == '__main__':
    main()
