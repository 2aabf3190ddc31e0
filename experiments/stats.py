"""Paired comparisons of variants over seeds (``compare``): per-seed
differences, the paired t-test and the sign test."""

import contextlib
import statistics
import warnings

from experiments.evaluation import (
    EVALUATIONS,
)
from experiments.store import (
    load_results,
)


def on_split(results: list, split: str) -> list:
    """The records with their metrics on ``split``: as recorded (val), or
    those of an evaluation of ``test`` (``test``, ``val-tta``,
    ``test-tta``; only the runs that have it)."""
    if split == 'val':
        # (Not the runs trained on val: they have no val metrics.)
        return [r for r in results if 'bbox_mAP' in r or 'AR@100' in r]
    return [
        dict({k: v for k, v in r.items() if k not in EVALUATIONS}, **r[split])
        for r in results
        if split in r
    ]


def cmd_compare(args) -> None:
    """Each VARIANT_A against VARIANT_B on the same seeds, metric by
    metric: in detail, or (``--rows``) one markdown row each."""
    split_b = args.split_b or args.split
    for a in args.a:
        if (a, args.split) == (args.b, split_b):
            raise SystemExit(
                f'{a!r} on {args.split} against itself: name another '
                'variant, or another evaluation with --split-b'
            )
    everything = load_results(args.results)
    on_a = on_split(everything, args.split)
    on_b = on_split(everything, split_b)
    if args.rows:
        against = args.b if split_b == args.split else f'{args.b} ({split_b})'
        print(f'Minus {against!r}, paired by seed:\n')
        print(
            '| variant | evaluation | metric | seeds | per seed | mean | '
            'paired t, p | sign test |'
        )
        print('|---' * 8 + '|')
    for a in args.a:
        sides = [(a, args.split, on_a), (args.b, split_b, on_b)]
        names = [
            v if args.split == split_b else f'{v} ({split})'
            for v, split, _ in sides
        ]
        epochs = side_epochs(args.epochs, sides)
        for metric in args.metric:
            # (A detector's runs have no proposal recall, an RPN's no box
            # mAP.)
            by = [
                {
                    r['seed']: r[metric]
                    for r in results
                    if r['variant'] == v and r['epochs'] == e and metric in r
                }
                for (v, _, results), e in zip(sides, epochs)
            ]
            for runs, (v, split, _), e in zip(by, sides, epochs):
                if not runs:
                    raise SystemExit(
                        f'no {e}-epoch runs of {v!r} with '
                        f'{metric!r} on {split} in {args.results}'
                    )
            if args.rows:
                print(summary_row(a, args.split, metric, *by))
            else:
                title = ' and '.join(map(str, dict.fromkeys(epochs)))
                print_comparison(f'{metric}, {title} epochs', *names, *by)


def side_epochs(given, sides) -> list:
    """The schedule (epochs) of each side's runs to compare: ``given``
    (``--epochs``) for both; else the one both variants have; else, where
    each variant has runs of one schedule only, each its own (the BCCD
    recipe on trainval: 17 epochs of 73 iterations against the train
    split's 24 of 52)."""
    if given is not None:
        return [given, given]
    both = [
        {r['epochs'] for r in results if r['variant'] == v}
        for v, _, results in sides
    ]
    common = both[0] & both[1]
    if len(common) == 1:
        return [common.pop()] * 2
    if not common and all(len(e) == 1 for e in both):
        return [e.pop() for e in both]
    raise SystemExit(
        f'runs of the variants with epochs {sorted(both[0])} and '
        f'{sorted(both[1])}: choose with --epochs'
    )


#: Paired differences closer together than this are equal: the recorded
#: metrics have three or four decimals.
EQUAL = 1e-9


def spread(values) -> float:
    values = list(values)
    return max(values) - min(values)


@contextlib.contextmanager
def quiet_moments():
    """scipy warns of precision loss where a group's values are all equal
    (one variant's runs that agree to the recorded decimals): its
    variance is 0, as the tests take it. The cases where that leaves no
    test are handled by the callers."""
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', 'Precision loss', RuntimeWarning)
        yield


def paired_tests(a: dict, b: dict):
    """Seed-paired comparison of ``a`` minus ``b`` (seed -> value): the
    common seeds, their differences, the paired t-test and the sign test
    (wins, non-ties, p). The t-test is None with fewer than 2 seeds, and
    where every difference is the same: a spread of zero gives t = inf
    and p = 0 at any number of seeds, a test of nothing. The sign test is
    None with fewer than 2 seeds."""
    from scipy import stats

    seeds = sorted(set(a) & set(b))
    diffs = [a[s] - b[s] for s in seeds]
    if len(seeds) < 2:
        return seeds, diffs, None, None
    t = None
    if spread(diffs) > EQUAL:
        with quiet_moments():
            t = stats.ttest_rel([a[s] for s in seeds], [b[s] for s in seeds])
    wins = sum(d > 0 for d in diffs)
    ties = sum(d == 0 for d in diffs)
    p_sign = (
        stats.binomtest(wins, len(seeds) - ties).pvalue
        if len(seeds) > ties
        else 1.0
    )
    return seeds, diffs, t, (wins, len(seeds) - ties, p_sign)


def p_text(p: float) -> str:
    """``p = 0.042``, or ``p < 0.001`` where three decimals would read
    0.000."""
    return 'p < 0.001' if p < 0.0005 else f'p = {p:.3f}'


def t_text(seeds, t) -> str:
    """The paired t-test as the tables print it."""
    if t is not None:
        return f't = {t.statistic:.2f}, {p_text(t.pvalue)}'
    return 't undefined (equal differences)' if len(seeds) >= 2 else '-'


def summary_row(name: str, split: str, metric: str, a: dict, b: dict) -> str:
    """One markdown row: the per-seed differences, their mean, the paired
    t-test and the sign test (the docs' comparison tables)."""
    seeds, diffs, t, sign = paired_tests(a, b)
    per_seed = ', '.join(f'{d:+.3f}' for d in diffs)
    mean = f'{statistics.mean(diffs):+.4f}' if diffs else '-'
    st = f'{sign[0]} of {sign[1]}, {p_text(sign[2])}' if sign else '-'
    return (
        f'| {name} | {split} | {metric} | '
        f'{",".join(map(str, seeds))} | {per_seed} | {mean} | '
        f'{t_text(seeds, t)} | {st} |'
    )


def print_comparison(title: str, name_a: str, name_b: str, a, b) -> None:
    """The per-seed differences of ``a`` minus ``b``, the means, the paired
    tests and Welch's test over all seeds."""
    from scipy import stats

    seeds, diffs, t, sign = paired_tests(a, b)
    print(f'{title}: {name_a!r} minus {name_b!r}\n')
    print('| seed | ' + ' | '.join(map(str, seeds)) + ' |')
    print('|---' * (len(seeds) + 1) + '|')
    print('| difference | ' + ' | '.join(f'{d:+.3f}' for d in diffs) + ' |')
    print(
        f'\nmean {statistics.mean(a.values()):.4f} ({len(a)} seeds) '
        f'against {statistics.mean(b.values()):.4f} ({len(b)} seeds)'
    )
    if sign is not None:
        wins, trials, p_sign = sign
        print(
            f'paired ({len(seeds)} seeds): mean difference '
            f'{statistics.mean(diffs):+.4f}, {t_text(seeds, t)}; sign '
            f'test {wins} of {trials} positive, {p_text(p_sign)}'
        )
    if len(a) >= 2 and len(b) >= 2:
        if spread(a.values()) > EQUAL or spread(b.values()) > EQUAL:
            with quiet_moments():
                w = stats.ttest_ind(
                    list(a.values()), list(b.values()), equal_var=False
                )
            welch = f't = {w.statistic:.2f}, {p_text(w.pvalue)}'
        else:
            welch = 't undefined (every value the same within each)'
        print(f'Welch (all seeds): {welch}')
