"""experiments/ablation.py: runs, resume, tables, comparisons, evaluations and
its plans."""

import glob
import json
import os.path as osp
import subprocess
import sys

import pytest

from experiments.ablation import main as ablation
from tests.tool_runs import ROOT, run_main, run_tool  # noqa: E402


@pytest.mark.slow
def test_ablation_runs_resumes_and_tabulates(tmp_path, shapes_root):
    """A detector and an RPN variant run, are recorded once, tabulated (box
    mAP and proposal recall in their own tables) and compared; a control
    run with more overrides is recorded under its label."""
    results = str(tmp_path / 'results.json')
    tool = ['-m', 'experiments.ablation']
    args = [
        'run',
        '--variants',
        'baseline',
        'RPN: plain',
        '--seeds',
        '0',
        '--epochs',
        '1',
        '--data-root',
        shapes_root,
        '--out',
        str(tmp_path / 'work'),
        '--results',
        results,
    ]
    log = run_tool(tool + args, ROOT)
    assert '2 runs to do' in log
    assert 'RPN: plain seed 0: AR@100' in log
    recs = {r['variant']: r for r in json.load(open(results))}
    assert sorted(recs) == ['RPN: plain', 'baseline']
    det, rpn = recs['baseline'], recs['RPN: plain']
    for r in recs.values():
        assert r['epochs'] == 1 and r['iters'] == 4  # 32 images, batch 8
        assert r['s_per_iter'] > 0
    assert 0 <= det['bbox_mAP'] <= 1 and 'AR@100' not in det
    assert 'bbox_mAP' not in rpn
    assert 0 <= rpn['AR@100'] <= rpn['AR@300'] <= rpn['AR@1000'] <= 1
    # The whole schedule followed --epochs (cosine end, evaluation).
    dumped = glob.glob(
        str(
            tmp_path
            / 'work'
            / 'faster-rcnn_*_e1'
            / 'seed0'
            / 'faster-rcnn_r18_fpn_shapes_demo.py'
        )
    )
    from mmengine.config import Config

    cfg = Config.fromfile(dumped[0])
    assert cfg.param_scheduler[1]['end'] == 1
    assert cfg.param_scheduler[1]['T_max'] == 1
    assert cfg.train_cfg.val_interval == 1
    # Runs already recorded are not repeated.
    # (The commands that train nothing run in this process.)
    assert '0 runs to do' in run_main(ablation, args)
    table = run_main(ablation, ['table', '--results', results])
    rows = [ln for ln in table.splitlines() if ln.startswith('| ')]
    assert rows[1].startswith('| baseline | 0 |')
    assert '| variant | seeds | AR@100 | AR@300 | AR@1000 | s/iter |' in table
    assert '| RPN: plain | 0 |' in table
    # A control run of a variant with more overrides is recorded under a
    # label, tabulated and compared with the plain variant.
    one = ['run', '--variants', 'baseline'] + args[4:]
    with pytest.raises(SystemExit, match='needs a --label'):
        run_main(ablation, one + ['--cfg-options', 'x=1'])
    control = one + [
        '--cfg-options',
        'model.roi_head.bbox_head.loss_bbox.loss_weight=2.0',
        '--label',
        'loss weight 2',
    ]
    # --threads: fewer threads when another runner shares the machine.
    log = run_tool(tool + control + ['--threads', '1'], ROOT)
    assert '1 runs to do' in log
    assert '1 at a time with 1 threads each' in log
    last = json.load(open(results))[-1]
    assert last['variant'] == 'baseline [loss weight 2]'
    dumped = glob.glob(
        str(
            tmp_path
            / 'work'
            / 'faster-rcnn_*_loss_weight_2_e1'
            / 'seed0'
            / 'faster-rcnn_r18_fpn_shapes_demo.py'
        )
    )
    cfg = Config.fromfile(dumped[0])
    assert cfg.model.roi_head.bbox_head.loss_bbox.loss_weight == 2.0
    table = run_main(ablation, ['table', '--results', results])
    assert '| baseline [loss weight 2] | 0 |' in table
    compare = ['compare', '--epochs', '1', '--results', results]
    out = run_main(
        ablation, compare + ['baseline [loss weight 2]', 'baseline']
    )
    assert f'| difference | {last["bbox_mAP"] - det["bbox_mAP"]:+.3f} |' in out
    # Proposal recall is compared by --metric (a second RPN record, made
    # up, to compare with).
    json.dump(
        json.load(open(results))
        + [dict(rpn, variant='RPN: Libra (all three)', **{'AR@1000': 0.5})],
        open(results, 'w'),
    )
    out = run_main(
        ablation,
        compare
        + ['RPN: Libra (all three)', 'RPN: plain', '--metric', 'AR@1000'],
    )
    assert f'| difference | {0.5 - rpn["AR@1000"]:+.3f} |' in out


def test_ablation_evaluations_and_tta_config(tmp_path):
    """``test`` records test, val-tta and test-tta; a run whose config copy
    predates test-time augmentation gets its variant's; val-tta evaluates
    the val split with the val evaluator; compare refuses a variant against
    itself on the same evaluation."""
    from mmengine.config import Config

    from experiments import (
        evaluation,
        plans,
        stats,
    )

    assert evaluation.evaluation_key('val', True) == 'val-tta'
    assert evaluation.evaluation_key('test', False) == 'test'
    with pytest.raises(SystemExit, match='recorded by the training'):
        evaluation.evaluation_key('val', False)
    variant = 'BCCD: baseline + ALWA (alwa-rpn-diffstd)'
    cfg = Config.fromfile(osp.join(ROOT, 'configs', plans.VARIANTS[variant]))
    for key in ('tta_model', 'tta_pipeline'):
        cfg.pop(key)
    cfg.val_dataloader.dataset.ann_file = 'val-list.txt'
    # The copy of a run that tools/train.py --resume trained.
    cfg.resume = True
    old = str(tmp_path / 'old.py')
    cfg.dump(old)
    rec = dict(variant=variant + ' [a label]')
    path = evaluation.test_config(rec, old, 'val-tta', str(tmp_path / 'v'))
    new = Config.fromfile(path)
    assert new.tta_model.type == 'mmdet_libra_ext.WBFTTAModel'
    assert new.tta_pipeline[-1].type == 'TestTimeAug'
    assert new.test_dataloader.dataset.ann_file == 'val-list.txt'
    assert new.test_evaluator == cfg.val_evaluator
    path = evaluation.test_config(rec, old, 'test-tta', str(tmp_path / 't'))
    new = Config.fromfile(path)
    assert new.test_dataloader.dataset.ann_file == 'ImageSets/Main/test.txt'
    # Every evaluation loads the checkpoint, none resumes it.
    for key in ('test', 'test-tta', 'val-tta'):
        path = evaluation.test_config(rec, old, key, str(tmp_path / key))
        assert Config.fromfile(path).resume is False
    # A demo variant has no test-time augmentation of its own.
    with pytest.raises(SystemExit, match='no tta_model'):
        evaluation.test_config(
            dict(variant='baseline'),
            osp.join(ROOT, 'configs', plans.VARIANTS['baseline']),
            'test-tta',
            str(tmp_path / 'd'),
        )
    results = [
        dict(variant='A', seed=0, epochs=1, bbox_mAP=0.5),
        dict(
            variant='A',
            seed=1,
            epochs=1,
            bbox_mAP=0.4,
            **{'val-tta': dict(bbox_mAP=0.6)},
        ),
    ]
    # A run trained on trainval has test metrics only: no val row.
    trainval = dict(variant='B', seed=0, epochs=1, test=dict(bbox_mAP=0.7))
    assert stats.on_split(results + [trainval], 'val') == results
    (only,) = stats.on_split(results, 'val-tta')
    assert only['bbox_mAP'] == 0.6 and 'val-tta' not in only
    (only,) = stats.on_split(results + [trainval], 'test')
    assert only['variant'] == 'B' and only['bbox_mAP'] == 0.7
    file = tmp_path / 'r.json'
    file.write_text(json.dumps(results))
    with pytest.raises(SystemExit, match='against itself'):
        run_main(ablation, ['compare', 'A', 'A', '--results', str(file)])
    # The recipe trained on trainval (val is its training data) is
    # evaluated on test only.
    trainval = 'BCCD: baseline, trained on trainval'
    assert plans.validates(variant) and not plans.validates(trainval)
    with pytest.raises(SystemExit, match='evaluated on test only'):
        run_main(
            ablation,
            ['test', trainval, '--split', 'val', '--tta']
            + ['--results', str(file)],
        )
    # --label picks the runs recorded as "VARIANT [LABEL]" (here: none
    # with a work dir to evaluate, so the one found fails naming it).
    labelled_run = dict(variant=variant + ' [x]', seed=0, epochs=0)
    file.write_text(json.dumps([labelled_run]))
    out = subprocess.run(
        [sys.executable, '-m', 'experiments.ablation', 'test', variant]
        + ['--label', 'x', '--results', str(file)],
        capture_output=True,
        text=True,
    )
    assert '1 runs to evaluate (test)' in out.stdout


def test_ablation_plans_and_schedules():
    from experiments import (
        plans,
        pretrain_backbone,
        runner,
        store,
    )

    assert (
        pretrain_backbone.schedule_options(12, transfer=True)[-1]
        == 'param_scheduler.1.milestones=[8,11]'
    )
    assert (
        pretrain_backbone.schedule_options(6)[-1]
        == 'param_scheduler.1.T_max=6'
    )
    for name, stages in plans.PLANS.items():
        for variant, label, opts, _ in sum(stages, []):
            assert variant in plans.VARIANTS, (name, variant)
            assert bool(label) == bool(opts)
    counts = {}
    for variant, label, _, seeds in sum(
        plans.PLANS['transfer'] + plans.PLANS['transfer-losses'], []
    ):
        counts[store.labelled(variant, label)] = len(seeds)
    # The table: 5 seeds for the four main rows, 3 for the others.
    assert counts['transfer: Libra + ALWA'] == 5
    assert counts['transfer: baseline + ALWA [weighted_stats=False]'] == 3
    assert counts['transfer: baseline + ALWA [CIoU]'] == 3
    candidate = f'transfer: baseline + ALWA [{plans.ALWA_CANDIDATE}]'
    assert counts[candidate] == 5
    assert counts[candidate.replace('baseline', 'Libra')] == 5
    assert counts[f'transfer: baseline + ALWA [{plans.ALWA_WARMUP}]'] == 5
    assert len(counts) == 4 + len(plans.ALWA_OPTIONS) + 1 + 1 + 4
    # Seed by seed across the main rows first.
    args = type('Args', (), dict(plan='transfer', seeds_given=None))
    runs = runner.planned_runs(args)
    assert [(v, s) for v, s, *_ in runs[:5]] == [
        ('transfer: baseline', 0),
        ('transfer: Libra', 0),
        ('transfer: baseline + ALWA', 0),
        ('transfer: Libra + ALWA', 0),
        ('transfer: baseline', 1),
    ]
    assert len(runs) == (4 + 2 + 1) * 5 + (len(plans.ALWA_OPTIONS) - 2) * 3
    # The candidate's seeds come before the other options'.
    assert runs[20][:3] == (
        'transfer: baseline + ALWA',
        0,
        plans.ALWA_CANDIDATE,
    )
    demo = plans.PLANS['alwa-demo']
    assert [v for v, *_ in demo[0]] == ['baseline', 'baseline + ALWA']
    assert demo[2] == [
        (
            'baseline + ALWA',
            'warmup_iters=100',
            ['custom_hooks.1.warmup_iters=100'],
            [0, 1, 2, 3, 4],
        )
    ]
    # The RPN table: five RPN variants, the beta row and the Libra Faster
    # R-CNN with a Libra RPN, 5 seeds each; then the sampler's options.
    rpn = sum(plans.PLANS['rpn'], [])
    assert len(rpn) == 11
    assert all(seeds == [0, 1, 2, 3, 4] for *_, seeds in rpn[:-1])
    assert rpn[-1][-1] == list(range(9))
    assert len(plans.PLANS['rpn'][0]) == 7  # the main table first
    floor = 'model.train_cfg.rpn.sampler.neg_sampler.floor_fraction=0.5'
    assert [(v, opts) for v, _, opts, _ in plans.PLANS['rpn'][2]] == [
        ('RPN: Libra (all three)', [floor]),
        ('Libra with Libra RPN', [floor]),
    ]
    assert {v for v, *_ in rpn} == {
        v
        for v in plans.VARIANTS
        if 'RPN' in v and not v.startswith(plans.BCCD)
    }


def test_compare_rows_of_several_variants_and_metrics(tmp_path):
    """``compare A C B --metric M N --rows``: one markdown row per variant
    and metric, each paired by seed against B (numbers worked out by
    hand); without --rows, one detailed comparison per metric."""
    results = [
        dict(variant=v, seed=s, epochs=1, bbox_mAP=m, AP50=m + 0.3)
        for v, values in (
            ('A', (0.5, 0.6, 0.7)),
            ('B', (0.4, 0.55, 0.7)),
            ('C', (0.4, 0.5)),
        )
        for s, m in enumerate(values)
    ]
    file = tmp_path / 'r.json'
    file.write_text(json.dumps(results))
    compare = [
        'compare',
        'A',
        'C',
        'B',
        '--results',
        str(file),
        '--metric',
        'bbox_mAP',
        'AP50',
    ]
    out = run_main(ablation, compare + ['--rows'])
    rows = [ln for ln in out.splitlines() if ln.startswith('| ')]
    assert "Minus 'B', paired by seed:" in out
    assert rows[0].startswith('| variant | evaluation | metric | seeds |')
    # A - B: +0.1, +0.05, 0; mean 0.05, sd 0.05, t = sqrt(3); with 2
    # degrees of freedom p = 1 - t / sqrt(2 + t^2) = 0.225; the sign test
    # leaves the tie out: 2 of 2, p = 0.5.
    want = '| 0,1,2 | +0.100, +0.050, +0.000 | +0.0500 | t = 1.73, p = 0.225 |'
    assert rows[1] == f'| A | val | bbox_mAP {want} 2 of 2, p = 0.500 |'
    assert rows[2] == f'| A | val | AP50 {want} 2 of 2, p = 0.500 |'
    # C - B on the common seeds 0 and 1: 0, -0.05.
    assert rows[3].startswith('| C | val | bbox_mAP | 0,1 | +0.000, -0.050 |')
    assert rows[3].endswith('| 0 of 1, p = 1.000 |')
    assert len(rows) == 5
    out = run_main(ablation, compare)
    assert out.count("'A' minus 'B'") == 2 and out.count("'C' minus") == 2
    assert 'bbox_mAP, 1 epochs:' in out and 'AP50, 1 epochs:' in out


def test_p_values_under_a_thousandth_are_not_printed_as_zero():
    """Three decimals would print p = 0.000: such p-values read p < 0.001
    in the rows and the detailed comparison alike."""
    from experiments import (
        stats,
    )

    assert stats.p_text(0.225) == 'p = 0.225'
    assert stats.p_text(0.0006) == 'p = 0.001'
    assert stats.p_text(0.0004) == 'p < 0.001'
    # Differences 0.100, 0.101, 0.099, 0.100: t = 0.1 / (0.000816 / 2)
    # = 245 at 3 degrees of freedom, p about 2e-7.
    a = {0: 0.6, 1: 0.601, 2: 0.599, 3: 0.6}
    b = {s: 0.5 for s in a}
    row = stats.summary_row('A', 'val', 'bbox_mAP', a, b)
    assert row.endswith('| t = 244.95, p < 0.001 | 4 of 4, p = 0.125 |')


def test_equal_differences_have_no_t_test(capsys):
    """Paired differences that are all the same (here +0.002 twice, as
    metrics recorded to three decimals give) have a spread of zero, so
    scipy's t would be inf and p 0 at any number of seeds: the tables say
    the test is undefined and keep the sign test. Nearly equal ones still
    get a t."""
    from experiments import (
        stats,
    )

    a, b = {0: 0.893, 1: 0.895}, {0: 0.891, 1: 0.893}
    row = stats.summary_row('A', 'val', 'voc07/AP50', a, b)
    assert row.endswith(
        '| +0.002, +0.002 | +0.0020 | t undefined (equal differences) '
        '| 2 of 2, p = 0.500 |'
    )  # (scipy: t = inf, p = 0)
    # Equal to the recorded decimals, not as floats: 0.9 - 0.8 and 0.8 -
    # 0.7 differ in the last bits (scipy: t = 1.8e15, p = 3.5e-16).
    assert 0.9 - 0.8 != 0.8 - 0.7
    row = stats.summary_row(
        'A', 'val', 'AP', {0: 0.9, 1: 0.8}, {0: 0.8, 1: 0.7}
    )
    assert '| t undefined (equal differences) |' in row
    stats.print_comparison('AP50', 'A', 'B', a, b)
    out = capsys.readouterr().out
    assert 't undefined (equal differences); sign test 2 of 2' in out
    # Welch's test: b varies, so it is defined (a's variance is 0).
    assert 'Welch (all seeds): t = ' in out
    stats.print_comparison('AP50', 'A', 'B', {0: 0.9, 1: 0.9}, {0: 0.8})
    assert 'paired' not in capsys.readouterr().out  # one common seed
    stats.print_comparison(
        'AP50', 'A', 'B', {0: 0.9, 1: 0.9}, {0: 0.8, 1: 0.8, 2: 0.8}
    )
    out = capsys.readouterr().out
    assert 'Welch (all seeds): t undefined' in out
    # Differences 0.002 and 0.003: t = 0.0025 / (0.000707 / sqrt 2) = 5.
    row = stats.summary_row('A', 'val', 'bbox_mAP', a, {0: 0.891, 1: 0.892})
    assert '| t = 5.00, p = 0.126 |' in row


def test_compare_pairs_variants_at_their_own_schedules(tmp_path):
    """A variant run at one schedule only is compared, seed by seed, with
    another run at another only (the BCCD recipe on trainval, 17 epochs,
    against the train split's 24); where a variant has runs of two
    schedules and none in common, --epochs must choose."""
    from experiments import (
        stats,
    )

    results = [
        dict(variant=v, seed=s, epochs=e, bbox_mAP=m)
        for v, e, maps in (('T', 17, (0.61, 0.62)), ('B', 24, (0.60, 0.60)))
        for s, m in enumerate(maps)
    ]
    file = tmp_path / 'r.json'
    file.write_text(json.dumps(results))
    out = run_main(ablation, ['compare', 'T', 'B', '--results', str(file)])
    assert "bbox_mAP, 17 and 24 epochs: 'T' minus 'B'" in out
    assert '| difference | +0.010 | +0.020 |' in out
    sides = [('T', 'val', results), ('B', 'val', results)]
    assert stats.side_epochs(None, sides) == [17, 24]
    assert stats.side_epochs(12, sides) == [12, 12]
    more = results + [dict(variant='B', seed=0, epochs=12, bbox_mAP=0.5)]
    sides = [('T', 'val', more), ('B', 'val', more)]
    with pytest.raises(SystemExit, match=r'\[17\] and \[12, 24\]: choose'):
        stats.side_epochs(None, sides)
    # One schedule in common: that one, as before.
    more.append(dict(variant='T', seed=0, epochs=24, bbox_mAP=0.7))
    assert stats.side_epochs(None, sides) == [24, 24]


def test_variants_on_other_data_do_not_share_runs(tmp_path):
    """One config on two datasets: two work directories; a directory
    another variant claimed, or nobody did, is not resumed."""
    from experiments.plans import NEON, work_tag
    from experiments.runner import OWNER_FILE, check_owner

    tags = {
        v: work_tag(v)
        for v in (
            'BCCD: baseline',
            NEON + 'BCCD recipe',
            'BCCD: adaptive',
            NEON + 'adaptive',
        )
    }
    assert tags['BCCD: baseline'] == 'faster-rcnn_r18_fpn_bccd'
    assert tags[NEON + 'BCCD recipe'] == 'neon_trees_faster-rcnn_r18_fpn_bccd'
    assert tags['BCCD: adaptive'] == 'BCCD_faster-rcnn_r18_fpn_adaptive-voc'
    assert len(set(tags.values())) == 4
    work = str(tmp_path)
    check_owner(work, 'BCCD: adaptive', resume=False)  # a fresh run claims
    assert open(osp.join(work, OWNER_FILE)).read() == 'BCCD: adaptive\n'
    check_owner(work, 'BCCD: adaptive', resume=True)
    with pytest.raises(RuntimeError, match='holds a run of BCCD: adaptive'):
        check_owner(work, NEON + 'adaptive', resume=True)
    unclaimed = str(tmp_path / 'old')
    __import__('os').makedirs(unclaimed)
    with pytest.raises(RuntimeError, match='an unnamed variant'):
        check_owner(unclaimed, 'BCCD: adaptive', resume=True)


def test_a_recipe_that_fits_to_data_is_fitted_once_before_training(
    tmp_path, bccd_like_root
):
    """The lab runs the own-dataset recipe as a user does: fit_to_data
    writes the config the run trains, into its work directory, once (a
    resumed run trains the same file); other configs train as they are."""
    import os

    from mmengine.config import Config

    from experiments.runner import FITTED_CONFIG, fit_config, fits_to_data

    own = osp.join(
        ROOT, 'configs/own_dataset/faster-rcnn_mobilenetv2_fpn_adaptive-voc.py'
    )
    demo = osp.join(ROOT, 'configs/demo/faster-rcnn_r18_fpn_shapes_demo.py')
    assert fits_to_data(own) and not fits_to_data(demo)
    opts = [
        f'{s}_dataloader.dataset.{k}'
        for s in ('train', 'val', 'test')
        for k in (
            'data_root=' + bccd_like_root,
            'metainfo.classes=[RBC,WBC,Platelets]',
        )
    ] + ['randomness.seed=3']
    path = fit_config(own, str(tmp_path), opts, dict(os.environ))
    assert path == osp.join(str(tmp_path), FITTED_CONFIG)
    cfg = Config.fromfile(path)
    assert cfg.fitted_to_data.num_images == 4 and cfg.randomness.seed == 3
    assert 'training images' in open(tmp_path / 'fit.log').read()
    stamp = os.path.getmtime(path)
    assert fit_config(own, str(tmp_path), ['bad'], {}) == path  # kept
    assert os.path.getmtime(path) == stamp
