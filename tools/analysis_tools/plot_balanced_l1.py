"""Draw the Libra R-CNN figure: gradient and loss of Balanced L1 (several
alpha/gamma) against smooth L1 and L1, computed by the package's loss.

    python tools/analysis_tools/plot_balanced_l1.py [--out balanced_l1.png]
"""

import argparse

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from mmdet_libra_ext.models.losses import balanced_l1_loss  # noqa: E402


def curves(x, fn):
    x = x.clone().requires_grad_()
    y = fn(x)
    y.sum().backward()
    return y.detach(), x.grad


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='balanced_l1.png')
    args = parser.parse_args()
    x = torch.linspace(0, 3, 601, dtype=torch.float64)
    zero = torch.zeros_like(x)
    fig, (ax_g, ax_l) = plt.subplots(1, 2, figsize=(11, 4))
    series = [
        ('L1', lambda p: (p - zero).abs()),
        (
            'smooth L1 (beta=1)',
            lambda p: F.smooth_l1_loss(p, zero, reduction='none'),
        ),
    ]
    for alpha, gamma in (
        (0.2, 1.0),
        (0.3, 1.0),
        (0.5, 1.0),
        (0.5, 1.5),
        (0.5, 2.0),
    ):
        series.append(
            (
                f'balanced L1 a={alpha} g={gamma}',
                lambda p, a=alpha, g=gamma: balanced_l1_loss(
                    p, zero, alpha=a, gamma=g, reduction='none'
                ),
            )
        )
    for label, fn in series:
        y, g = curves(x, fn)
        ax_g.plot(x, g, label=label)
        ax_l.plot(x, y, label=label)
    ax_g.set_title('gradient')
    ax_l.set_title('loss')
    for ax in (ax_g, ax_l):
        ax.set_xlabel('regression error |x|')
        ax.axvline(1.0, color='grey', lw=0.5, ls='--')
        ax.grid(alpha=0.3)
    ax_g.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f'saved {args.out}')


if __name__ == '__main__':
    main()
