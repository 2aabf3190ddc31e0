"""This package's Libra samplers against MMDetection's on a detector's own
RPN proposals: what each selects, draw after draw.

    python tools/analysis_tools/compare_samplers.py [CONFIG]
        [--checkpoint CKPT] [--batches 4] [--draws 300] [--data-root DIR]

For every training image the config's RoI assigner labels the detector's
proposals (from the checkpoint, or from the initial weights); then the
config's CombinedSampler, once with this package's samplers and once with
MMDetection's, draws ``--draws`` times. Printed: the mean and standard error
of the number of sampled negatives per IoU bin and of positives (summed over
the images), and the largest per-proposal difference of selection
frequency. MMDetection's sampler is called once per image beforehand, so its
first-call configuration change is behind it.
"""

import argparse
import copy
import os.path as osp

import torch

from mmdet_libra_ext.analysis import assigned_images, load_config  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(
    ROOT, 'configs', 'demo', 'libra-faster-rcnn_r18_fpn_shapes_demo.py'
)
EDGES = (0, 1e-6, 0.1, 1 / 6, 0.25, 1 / 3, 0.4, 0.5, 1.01)
BIN_NAMES = (
    '0',
    '(0,.1)',
    '[.1,1/6)',
    '[1/6,.25)',
    '[.25,1/3)',
    '[1/3,.4)',
    '[.4,.5)',
    '>=.5',
)


def samplers(rcnn_sampler):
    """The config's CombinedSampler with our and with MMDetection's
    samplers."""
    from mmdet.registry import TASK_UTILS

    out = {}
    for name, prefix in (('ours', 'mmdet_libra_ext.'), ('mmdet', '')):
        cfg = copy.deepcopy(rcnn_sampler)
        for key in ('pos_sampler', 'neg_sampler'):
            cfg[key]['type'] = prefix + cfg[key]['type'].split('.')[-1]
        out[name] = TASK_UTILS.build(cfg)
    return out


def compare(
    config, checkpoint=None, batches=4, draws=300, data_root=None, seed=0
):
    from mmdet.apis import init_detector
    from mmengine.runner.utils import set_random_seed

    from mmdet_libra_ext.utils.checkpoint import check_not_legacy_fit

    cfg = load_config(config, data_root)
    pair = samplers(cfg.model.train_cfg.rcnn.sampler)
    set_random_seed(seed)  # the initial weights, without a checkpoint
    check_not_legacy_fit(cfg, checkpoint)
    model = init_detector(cfg, checkpoint, device='cpu')
    edges = torch.tensor(EDGES)
    counts = {k: torch.zeros(draws, len(EDGES)) for k in pair}
    max_diff = 0.0
    for assign, pred, gt in assigned_images(cfg, batches, seed, model):
        pair['mmdet'].sample(copy.deepcopy(assign), pred, gt)
        n = assign.gt_inds.numel() + gt.bboxes.size(0)
        freq = {}
        for name, sampler in pair.items():
            f = torch.zeros(n)
            for t in range(draws):
                a = copy.deepcopy(assign)  # sample() adds the gts
                res = sampler.sample(a, pred, gt)
                iou = a.max_overlaps[res.neg_inds].float()
                counts[name][t, :-1] += torch.histogram(iou, bins=edges)[0]
                counts[name][t, -1] += res.pos_inds.numel()
                f[res.pos_inds] += 1
                f[res.neg_inds] += 1
            freq[name] = f / draws
        max_diff = max(
            max_diff, float((freq['ours'] - freq['mmdet']).abs().max())
        )
    return counts, max_diff


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG)
    parser.add_argument('--checkpoint', default=None)
    parser.add_argument('--batches', type=int, default=4)
    parser.add_argument('--draws', type=int, default=300)
    parser.add_argument('--data-root', default=None)
    args = parser.parse_args()
    counts, max_diff = compare(
        args.config, args.checkpoint, args.batches, args.draws, args.data_root
    )
    print(
        f'{args.batches} batches of 4 images, {args.draws} draws each; '
        'mean ± standard error over the draws\n'
    )
    print(
        '| sampler | '
        + ' | '.join(f'neg IoU {b}' for b in BIN_NAMES)
        + ' | positives |'
    )
    print('|---' * (len(BIN_NAMES) + 2) + '|')
    for name, c in counts.items():
        mean, se = c.mean(0), c.std(0) / c.size(0) ** 0.5
        print(
            f'| {name} | '
            + ' | '.join(f'{m:.2f} ± {e:.2f}' for m, e in zip(mean, se))
            + ' |'
        )
    print(
        f'\nlargest per-proposal difference of selection frequency: '
        f'{max_diff:.3f}'
    )


if __name__ == '__main__':
    main()
