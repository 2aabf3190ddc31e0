"""Which imbalance does this detector have? A one-page balance report of a
detector config on its own training data, before training.

    python tools/analysis_tools/balance_report.py CONFIG [--checkpoint CKPT]
        [--batches 8] [--seed 0] [--out-dir DIR] [--no-model]
        [--init-weights] [--cfg-options KEY=VALUE ...]

Reads ``--batches`` batches of the config's training loader through its own
assigners (:mod:`mmdet_libra_ext.analysis.balance_report`) and writes
``balance_report.png``, ``balance_report.json`` and ``summary.txt`` into
``--out-dir`` (default ``work_dirs/balance_report/<config name>``), printing
the summary: the sample, feature, objective and class levels and, per
component of this package, the reading behind a recommendation
(docs/balance.md says how far each reading predicted measured gains).
``--no-model`` skips building the detector (no loss ratio, no feature
energy). ``--init-weights`` reads the detector as training starts, its
``init_cfg``s applied: a fine-tuning config's pretrained backbone (the
own-dataset recipe's offline switch gives the file:
``--cfg-options model.backbone.init_cfg.checkpoint=PATH``). Works on any
MMDetection 3.x detector config with anchors or RoIs; a config it cannot
read is refused naming what is missing, and nothing is written unless
everything was.
"""

import argparse
import json
import os
import os.path as osp
import sys
import tempfile

from mmdet_libra_ext.analysis.balance_figure import draw_report
from mmdet_libra_ext.analysis.balance_report import ConfigError, collect
from mmdet_libra_ext.analysis.balance_summary import summary_lines


def parse_args(argv=None):
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='an MMDetection detector config')
    parser.add_argument(
        '--checkpoint',
        default=None,
        help='weights: the RPN gives the RoI proposals and the loss '
        'ratio and feature energy are read at them',
    )
    parser.add_argument('--batches', type=int, default=8)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out-dir', default=None)
    parser.add_argument(
        '--no-model',
        action='store_true',
        help='data-side readings only: no detector is built',
    )
    parser.add_argument(
        '--init-weights',
        action='store_true',
        help='initialise the detector as training does (its init_cfg: a '
        'pretrained backbone) before reading it',
    )
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, as in MMDetection tools',
    )
    args = parser.parse_args(argv)
    if args.batches < 1:
        parser.error(f'--batches must be at least 1, got {args.batches}')
    if args.init_weights and args.no_model:
        parser.error('--init-weights needs the model: drop --no-model')
    return args


def write_all(out_dir, report, lines, fig):
    """Write the three files into ``out_dir`` at once: each goes to a
    temporary name first and is renamed only when all were written."""
    import matplotlib.pyplot as plt

    os.makedirs(out_dir, exist_ok=True)
    staged = []
    try:
        for name, write in (
            (
                'balance_report.json',
                lambda f: json.dump(report, f, indent=1, allow_nan=True),
            ),
            ('summary.txt', lambda f: f.write('\n'.join(lines) + '\n')),
        ):
            fd, tmp = tempfile.mkstemp(dir=out_dir, suffix='.part')
            with os.fdopen(fd, 'w') as f:
                write(f)
            staged.append((tmp, name))
        fd, tmp = tempfile.mkstemp(dir=out_dir, suffix='.png')
        os.close(fd)
        fig.savefig(tmp, dpi=90)
        staged.append((tmp, 'balance_report.png'))
    except BaseException:
        for tmp, _ in staged:
            os.unlink(tmp)
        raise
    finally:
        plt.close(fig)
    for tmp, name in staged:
        os.replace(tmp, osp.join(out_dir, name))


def refuse_unfitted(cfg, config):
    """A recipe to fit to its data (it has ``fit_to_data`` options) that
    was not fitted reads at the recipe's placeholder scale and anchors (and
    with MMDetection's image reader where the data needs this package's):
    not what it trains. Refused, with the command that fits it."""
    from mmdet_libra_ext.analysis.fitted_config import (
        fitted_path,
        needs_fitting,
    )

    if not needs_fitting(cfg):
        return
    sys.exit(
        f'balance_report: {config} is a recipe to fit to its data '
        '(fit_to_data), not fitted yet: its input scale and anchors are '
        'placeholders, not what it trains with. Fit it first, then report '
        'on the config that writes:\n'
        f'  python tools/analysis_tools/fit_to_data.py {config}\n'
        f'  python tools/analysis_tools/balance_report.py '
        f'{fitted_path(config)}'
    )


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config

    import mmdet_libra_ext  # noqa: F401

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    refuse_unfitted(cfg, args.config)
    out_dir = args.out_dir or osp.join(
        'work_dirs',
        'balance_report',
        osp.splitext(osp.basename(args.config))[0],
    )
    try:
        report = collect(
            cfg,
            batches=args.batches,
            checkpoint=args.checkpoint,
            seed=args.seed,
            with_model=not args.no_model,
            init_weights=args.init_weights,
        )
    except (ConfigError, FileNotFoundError) as e:
        sys.exit(f'balance_report: {args.config}: {e}')
    report['config'] = args.config
    lines = summary_lines(report)
    fig = draw_report(report)
    write_all(out_dir, report, lines, fig)
    print('\n'.join(lines))
    print(f'written: {out_dir}/balance_report.{{png,json}}, summary.txt')


if __name__ == '__main__':
    main()
