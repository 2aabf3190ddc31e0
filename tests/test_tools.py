"""The command-line tools run and write their figures."""

import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _run(args, cwd):
    out = subprocess.run(
        [sys.executable] + args,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_plot_balanced_l1(tmp_path):
    out = tmp_path / 'bl1.png'
    _run(
        [osp.join(ROOT, 'tools', 'plot_balanced_l1.py'), '--out', str(out)],
        ROOT,
    )
    assert out.stat().st_size > 10_000


def test_visualize_bfp(tmp_path, shapes_root):
    out = tmp_path / 'bfp.png'
    log = _run(
        [
            osp.join(ROOT, 'tools', 'visualize_bfp.py'),
            '--image',
            osp.join(shapes_root, 'val', '000000.png'),
            '--out',
            str(out),
        ],
        ROOT,
    )
    assert out.stat().st_size > 10_000
    lines = [ln for ln in log.splitlines() if ln.startswith('level')]
    assert len(lines) == 5
    # BFP adds the integrated features to every level: energy changes.
    for ln in lines:
        before = float(ln.split('before ')[1].split(',')[0])
        after = float(ln.split('after ')[1])
        assert before != after


def _shares(log):
    """Each row's (IoU = 0, IoU > 0.05) shares in percent."""
    share = {}
    for ln in log.splitlines():
        cells = [c.strip() for c in ln.strip('|').split('|')]
        if len(cells) == 5 and cells[3].endswith('%'):
            share[cells[0]] = (float(cells[2][:-1]), float(cells[3][:-1]))
    return share


def _analyze_sampling(tmp_path, shapes_root, *args):
    """Run tools/analyze_sampling.py on two batches; its log."""
    out = tmp_path / 'sampling.png'
    log = _run(
        [osp.join(ROOT, 'tools', 'analyze_sampling.py'), *args]
        + ['--batches', '2', '--data-root', shapes_root, '--out', str(out)],
        ROOT,
    )
    assert out.stat().st_size > 10_000
    return log


def test_analyze_sampling(tmp_path, shapes_root):
    share = _shares(_analyze_sampling(tmp_path, shapes_root))
    # IoU-balanced sampling takes many more hard negatives than random.
    assert share['IoU-balanced (ours)'][1] > share['random'][1] + 15


def test_analyze_sampling_rpn_anchors(tmp_path, shapes_root):
    log = _analyze_sampling(tmp_path, shapes_root, '--rpn')
    share = _shares(log)
    # The demo's ~16k anchors per image, 8 images, most of them at IoU 0.
    assert share['all candidates'][0] > 50
    assert share['random'][0] > 50
    # The balanced samplers take negatives that overlap a ground truth;
    # bins over the negatives' own range take the hardest.
    assert share['IoU-balanced (ours)'][0] == 0
    assert (
        share["IoU-balanced (ours, bin_range='negatives')"][1]
        > share['IoU-balanced (ours)'][1] + 10
    )
    # floor_fraction=0.5 takes half of them from the zero-IoU background.
    floor = "IoU-balanced (ours, bin_range='negatives', floor_fraction=0.5)"
    assert 45 < share[floor][0] < 55
    assert re.search(
        r'all negatives in the first of 3 bins: \d+ of 8 '
        r'images',
        log,
    )


@pytest.mark.slow
def test_ablation_runs_resumes_and_tabulates(tmp_path, shapes_root):
    """A detector and an RPN variant run, are recorded once, tabulated (box
    mAP and proposal recall in their own tables) and compared; a control
    run with more overrides is recorded under its label."""
    results = str(tmp_path / 'results.json')
    tool = osp.join(ROOT, 'tools', 'ablation.py')
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
    log = _run([tool] + args, ROOT)
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
    assert '0 runs to do' in _run([tool] + args, ROOT)
    table = _run([tool, 'table', '--results', results], ROOT)
    rows = [ln for ln in table.splitlines() if ln.startswith('| ')]
    assert rows[1].startswith('| baseline | 0 |')
    assert '| variant | seeds | AR@100 | AR@300 | AR@1000 | s/iter |' in table
    assert '| RPN: plain | 0 |' in table
    # A control run of a variant with more overrides is recorded under a
    # label, tabulated and compared with the plain variant.
    one = ['run', '--variants', 'baseline'] + args[4:]
    with pytest.raises(AssertionError, match='needs a --label'):
        _run([tool] + one + ['--cfg-options', 'x=1'], ROOT)
    control = one + [
        '--cfg-options',
        'model.roi_head.bbox_head.loss_bbox.loss_weight=2.0',
        '--label',
        'loss weight 2',
    ]
    assert '1 runs to do' in _run([tool] + control, ROOT)
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
    table = _run([tool, 'table', '--results', results], ROOT)
    assert '| baseline [loss weight 2] | 0 |' in table
    compare = [tool, 'compare', '--epochs', '1', '--results', results]
    out = _run(compare + ['baseline [loss weight 2]', 'baseline'], ROOT)
    assert f'| difference | {last["bbox_mAP"] - det["bbox_mAP"]:+.3f} |' in out
    # Proposal recall is compared by --metric (a second RPN record, made
    # up, to compare with).
    json.dump(
        json.load(open(results))
        + [dict(rpn, variant='RPN: Libra (all three)', **{'AR@1000': 0.5})],
        open(results, 'w'),
    )
    out = _run(
        compare
        + ['RPN: Libra (all three)', 'RPN: plain', '--metric', 'AR@1000'],
        ROOT,
    )
    assert f'| difference | {0.5 - rpn["AR@1000"]:+.3f} |' in out


def test_compare_samplers(shapes_root):
    log = _run(
        [
            osp.join(ROOT, 'tools', 'compare_samplers.py'),
            '--batches',
            '1',
            '--draws',
            '8',
            '--data-root',
            shapes_root,
        ],
        ROOT,
    )
    rows = {
        ln.split('|')[1].strip(): ln
        for ln in log.splitlines()
        if ln.startswith('| ours') or ln.startswith('| mmdet')
    }
    assert sorted(rows) == ['mmdet', 'ours']
    for ln in rows.values():
        assert ln.count('±') == 9
    assert 'largest per-proposal difference' in log


@pytest.mark.slow
def test_pretrain_backbone_then_transfer_ablation(
    tmp_path, shapes_root, crowded_root
):
    """The pretrained backbone is made once (cached), reproducibly, holds
    the backbone alone, and the transfer configs load it; a transfer
    variant runs through the ablation tool with the step schedule scaled
    and ALWA's weight recorded."""
    import torch
    from mmengine.config import Config

    tool = osp.join(ROOT, 'tools', 'pretrain_backbone.py')
    out = str(tmp_path / 'backbone.pth')
    args = [
        tool,
        '--out',
        out,
        '--epochs',
        '1',
        '--data-root',
        shapes_root,
        '--work-dir',
        str(tmp_path / 'pretrain'),
        '--cfg-options',
        'train_dataloader.dataset.indices=8',
        'train_dataloader.batch_size=4',
        'val_dataloader.dataset.indices=4',
    ]
    assert 'wrote' in _run(args, ROOT)
    first = torch.load(out, weights_only=True)
    state = first['state_dict']
    assert state and all(k.startswith('backbone.') for k in state)
    assert first['meta']['recipe']['epochs'] == 1
    assert 'up to date (cached)' in _run(args, ROOT)
    assert 'wrote' in _run(args + ['--force'], ROOT)
    again = torch.load(out, weights_only=True)['state_dict']
    assert all(torch.equal(state[k], again[k]) for k in state)
    # A transfer config's backbone starts from exactly these weights.
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import mmdet_libra_ext  # noqa: F401

    register_all_modules()
    cfg = Config.fromfile(
        osp.join(
            ROOT,
            'configs',
            'transfer',
            'libra-faster-rcnn_r18_fpn_crowded-transfer.py',
        )
    )
    cfg.model.backbone.init_cfg.checkpoint = out
    model = MODELS.build(cfg.model)
    model.init_weights()
    loaded = model.state_dict()
    for k, v in state.items():
        assert torch.equal(loaded[k], v), k
    # The ablation tool runs a transfer variant with it.
    results = str(tmp_path / 'results.json')
    log_args = [
        osp.join(ROOT, 'tools', 'ablation.py'),
        'run',
        '--variants',
        'transfer: baseline + ALWA',
        '--seeds',
        '0',
        '--epochs',
        '1',
        '--data-root',
        crowded_root,
        '--pretrained',
        out,
        '--out',
        str(tmp_path / 'work'),
        '--results',
        results,
        '--cfg-options',
        'custom_hooks.1.interval=2',
        '--label',
        'C=2',
    ]
    log = _run(log_args, ROOT)
    assert 'transfer: baseline + ALWA [C=2] seed 0' in log
    rec = json.load(open(results))[0]
    assert rec['iters'] == 2  # 16 images in batches of 8
    assert sorted(rec['alwa_final']) == [
        'alwa_cls_weight',
        'alwa_rpn_cls_weight',
    ]
    assert 0 < min(rec['alwa_min'].values()) <= 1
    # A run that was stopped is resumed from its last checkpoint (here the
    # final one, of a run whose record was lost), with the same result.
    os.remove(results)
    assert 'seed 0' in _run(log_args, ROOT)
    again = json.load(open(results))[0]
    assert again['resumed'] and again['iters'] == 2
    for key in ('bbox_mAP', 'alwa_final', 'alwa_min'):
        assert again[key] == rec[key], key
    dumped = glob.glob(str(tmp_path / 'work' / '*' / 'seed0' / 'alwa-*.py'))
    cfg = Config.fromfile(dumped[0])
    assert cfg.param_scheduler[1]['milestones'] == [1]
    assert cfg.model.backbone.init_cfg.checkpoint == out
    assert cfg.train_dataloader.dataset.data_root == crowded_root


@pytest.mark.slow
def test_bccd_variant_trains_records_per_class_and_draws(
    tmp_path, bccd_like_root
):
    """A BCCD config trains through the ablation tool (MMDetection's
    tools/train.py, VOCDataset, zero-size boxes in train and val), its
    record holds both VOC AP50s and every class's AP, the table shows them,
    and the report draws the run's detections on validation images."""
    results = str(tmp_path / 'results.json')
    tool = osp.join(ROOT, 'tools', 'ablation.py')
    log = _run(
        [
            tool,
            'run',
            '--variants',
            'BCCD: Libra',
            '--seeds',
            '0',
            '--epochs',
            '1',
            '--data-root',
            bccd_like_root,
            '--out',
            str(tmp_path / 'work'),
            '--results',
            results,
        ],
        ROOT,
    )
    assert 'BCCD: Libra seed 0: mAP' in log
    (rec,) = json.load(open(results))
    assert rec['iters'] == 1  # 4 training images, batch 4
    classes = ('RBC', 'WBC', 'Platelets')
    for prefix in ('voc07', 'voc12'):
        assert 0 <= rec[f'{prefix}/AP50'] <= 1
        for c in classes:
            assert 0 <= rec[f'{prefix}/{c}_AP50'] <= 1
    for c in classes:
        assert f'coco/{c}_precision' in rec
    table = _run([tool, 'table', '--results', results], ROOT)
    assert (
        '| variant | seeds | AP50 (11-pt) | AP50 (area) | RBC AP50 | '
        'WBC AP50 | Platelets AP50 | box mAP | RBC mAP | WBC mAP | '
        'Platelets mAP | s/iter |'
    ) in table
    assert f'| BCCD: Libra | 0 | {rec["voc07/AP50"]:.3f} |' in table
    # The test split, once: MMDetection's tools/test.py on the run's final
    # checkpoint, recorded beside the validation metrics.
    test = [tool, 'test', 'BCCD: Libra', '--results', results]
    assert '1 runs to evaluate (test)' in _run(test, ROOT)
    (rec,) = json.load(open(results))
    assert set(rec['test']) >= {'voc07/AP50', 'voc12/WBC_AP50', 'bbox_mAP'}
    assert '0 runs to evaluate (test)' in _run(test, ROOT)
    # Val with the config's test-time augmentation (tools/test.py --tta:
    # WBFTTAModel over four flips): recorded when the run finished; on
    # test when asked.
    assert set(rec['val-tta']) >= {'voc07/AP50', 'voc12/WBC_AP50', 'bbox_mAP'}
    tta = test + ['--tta', '--threads', '1']
    assert '0 runs to evaluate (val-tta)' in _run(
        tta + ['--split', 'val'], ROOT
    )
    assert '1 runs to evaluate (test-tta)' in _run(tta, ROOT)
    (rec,) = json.load(open(results))
    assert set(rec['test-tta']) >= {'voc07/AP50', 'bbox_mAP'}
    work_dir = rec['work_dir']
    with open(osp.join(work_dir, 'val-tta.log')) as f:
        log = f.read()
    assert "type='mmdet_libra_ext.WBFTTAModel'" in log
    # The config evaluated stays as written (tools/test.py dumps the one
    # it ran, the detector wrapped, beside it): evaluating it again works.
    from mmengine.config import Config

    evaluated = osp.join(work_dir, 'val-tta', 'input', 'config.py')
    assert Config.fromfile(evaluated).model.type != (
        'mmdet_libra_ext.WBFTTAModel'
    )
    assert (
        "ann_file='ImageSets/Main/val.txt'" in log.split('test_dataloader')[1]
    )
    compare = _run(
        [tool, 'compare', 'BCCD: Libra', 'BCCD: Libra', '--results', results]
        + ['--split', 'val-tta', '--split-b', 'val']
        + ['--metric', 'voc07/Platelets_AP50'],
        ROOT,
    )
    diff = rec['val-tta']['voc07/Platelets_AP50'] - rec['voc07/Platelets_AP50']
    assert f'| difference | {diff:+.3f} |' in compare
    assert "'BCCD: Libra (val-tta)' minus 'BCCD: Libra (val)'" in compare
    table = _run(
        [tool, 'table', '--split', 'test', '--results', results], ROOT
    )
    assert 'Evaluated on the test split.' in table
    assert f'| BCCD: Libra | 0 | {rec["test"]["voc07/AP50"]:.3f} |' in table
    # The report: metrics with the VOC rows, and the detections drawn.
    (work,) = glob.glob(str(tmp_path / 'work' / '*' / 'seed0'))
    out = _run(
        [osp.join(ROOT, 'tools', 'report.py'), work, '--images', '2'], ROOT
    )
    assert f'| voc07/AP50 | {rec["voc07/AP50"]:.3f} |' in out
    assert osp.getsize(osp.join(work, 'report', 'detections.png')) > 20000
    # What it drew: each image's ground truth as the dataset has it (the
    # first val image, with its zero-size box, 6), and the detections at
    # the threshold as MMDetection's inference_detector gives them.
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import report
    from mmdet.apis import inference_detector, init_detector

    counts = report.draw_detections(
        work, str(tmp_path / 'det.png'), num_images=2, score_thr=0.05
    )
    config, ckpt = report.run_config(work)
    model = init_detector(config, ckpt, device='cpu')
    images = sorted(glob.glob(bccd_like_root + 'JPEGImages/*.jpg'))[4:6]
    scores = [
        inference_detector(model, i).pred_instances.scores for i in images
    ]
    want = [int((s >= 0.05).sum()) for s in scores]
    assert counts == [(6, want[0]), (5, want[1])]
    # The error table: every detection at the threshold in one column,
    # every annotation counted, and the AP50 the training's evaluation
    # recorded for the same checkpoint.
    out = _run(
        [osp.join(ROOT, 'tools', 'report.py'), work, '--images', '0']
        + ['--errors', '--score-thr', '0.05'],
        ROOT,
    )
    assert osp.isfile(osp.join(work, 'report', 'errors.md'))
    rows = report.error_table(work, score_thr=0.05)
    assert [r['cls'] for r in rows] == list(classes)
    assert [r['annotated'] for r in rows] == [3 + 4, 1 + 1, 1 + 1]
    labels = [inference_detector(model, i).pred_instances for i in images]
    for c, r in enumerate(rows):
        drawn = sum(
            int(((p.labels == c) & (p.scores >= 0.05)).sum()) for p in labels
        )
        assert r['matched'] + r['poor'] + r['unmatched'] == drawn
        assert r['ap50'] == pytest.approx(
            rec[f'voc07/{r["cls"]}_AP50'], abs=1e-4
        )
        assert r['ap50_without_unmatched'] >= r['ap50'] - 1e-9
        assert f'| {r["cls"]} | {r["annotated"]} |' in out


def test_bccd_plan_and_missing_dataset(tmp_path):
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import ablation

    stages = ablation.PLANS['bccd']
    rows = [v for v, *_ in stages[0]]
    assert rows == [
        'BCCD: baseline',
        'BCCD: Libra',
        'BCCD: Libra with Libra RPN (floor_fraction=0.5)',
        'BCCD: baseline + ALWA (alwa-rpn-diffstd)',
    ]
    assert all(seeds == [0, 1, 2, 3, 4] for *_, seeds in sum(stages, []))
    # The BCCD runs follow their config's schedule, the others the demo's.
    from mmengine.config import Config

    bccd = Config.fromfile(
        osp.join(ROOT, 'configs', 'bccd', 'faster-rcnn_r18_fpn_bccd.py')
    )
    assert (
        ablation.default_epochs('BCCD: baseline') == bccd.train_cfg.max_epochs
    )
    assert ablation.default_epochs('Libra RetinaNet') == 12
    assert ablation.voc_data_root_options('/x/BCCD') == [
        f'{s}_dataloader.dataset.data_root=/x/BCCD/'
        for s in ('train', 'val', 'test')
    ]
    # No dataset where it is looked for: a message naming the place and
    # where to get it, before anything trains.
    with pytest.raises(SystemExit, match='Shenggan/BCCD_Dataset'):
        ablation.prepare({'BCCD: baseline'}, str(tmp_path) + '/')


def test_ablation_evaluations_and_tta_config(tmp_path):
    """``test`` records test, val-tta and test-tta; a run whose config copy
    predates test-time augmentation gets its variant's; val-tta evaluates
    the val split with the val evaluator; compare refuses a variant against
    itself on the same evaluation."""
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import ablation
    from mmengine.config import Config

    assert ablation.evaluation_key('val', True) == 'val-tta'
    assert ablation.evaluation_key('test', False) == 'test'
    with pytest.raises(SystemExit, match='recorded by the training'):
        ablation.evaluation_key('val', False)
    variant = 'BCCD: baseline + ALWA (alwa-rpn-diffstd)'
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', ablation.VARIANTS[variant])
    )
    for key in ('tta_model', 'tta_pipeline'):
        cfg.pop(key)
    cfg.val_dataloader.dataset.ann_file = 'val-list.txt'
    old = str(tmp_path / 'old.py')
    cfg.dump(old)
    rec = dict(variant=variant + ' [a label]')
    path = ablation.test_config(rec, old, 'val-tta', str(tmp_path / 'v'))
    new = Config.fromfile(path)
    assert new.tta_model.type == 'mmdet_libra_ext.WBFTTAModel'
    assert new.tta_pipeline[-1].type == 'TestTimeAug'
    assert new.test_dataloader.dataset.ann_file == 'val-list.txt'
    assert new.test_evaluator == cfg.val_evaluator
    path = ablation.test_config(rec, old, 'test-tta', str(tmp_path / 't'))
    new = Config.fromfile(path)
    assert new.test_dataloader.dataset.ann_file == 'ImageSets/Main/test.txt'
    # A demo variant has no test-time augmentation of its own.
    with pytest.raises(SystemExit, match='no tta_model'):
        ablation.test_config(
            dict(variant='baseline'),
            osp.join(ROOT, 'configs', ablation.VARIANTS['baseline']),
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
    assert ablation.on_split(results, 'val') == results
    (only,) = ablation.on_split(results, 'val-tta')
    assert only['bbox_mAP'] == 0.6 and 'val-tta' not in only
    file = tmp_path / 'r.json'
    file.write_text(json.dumps(results))
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'ablation.py'), 'compare']
        + ['A', 'A', '--results', str(file)],
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and 'against itself' in out.stderr


def test_ablation_plans_and_schedules():
    sys.path.insert(0, osp.join(ROOT, 'tools'))
    import ablation

    assert (
        ablation.schedule_options(12, transfer=True)[-1]
        == 'param_scheduler.1.milestones=[8,11]'
    )
    assert ablation.schedule_options(6)[-1] == 'param_scheduler.1.T_max=6'
    for name, stages in ablation.PLANS.items():
        for variant, label, opts, _ in sum(stages, []):
            assert variant in ablation.VARIANTS, (name, variant)
            assert bool(label) == bool(opts)
    counts = {}
    for variant, label, _, seeds in sum(
        ablation.PLANS['transfer'] + ablation.PLANS['transfer-losses'], []
    ):
        counts[ablation.labelled(variant, label)] = len(seeds)
    # The table: 5 seeds for the four main rows, 3 for the others.
    assert counts['transfer: Libra + ALWA'] == 5
    assert counts['transfer: baseline + ALWA [weighted_stats=False]'] == 3
    assert counts['transfer: baseline + ALWA [CIoU]'] == 3
    candidate = f'transfer: baseline + ALWA [{ablation.ALWA_CANDIDATE}]'
    assert counts[candidate] == 5
    assert counts[candidate.replace('baseline', 'Libra')] == 5
    assert counts[f'transfer: baseline + ALWA [{ablation.ALWA_WARMUP}]'] == 5
    assert len(counts) == 4 + len(ablation.ALWA_OPTIONS) + 1 + 1 + 4
    # Seed by seed across the main rows first.
    args = type('Args', (), dict(plan='transfer', seeds_given=None))
    runs = ablation.planned_runs(args)
    assert [(v, s) for v, s, *_ in runs[:5]] == [
        ('transfer: baseline', 0),
        ('transfer: Libra', 0),
        ('transfer: baseline + ALWA', 0),
        ('transfer: Libra + ALWA', 0),
        ('transfer: baseline', 1),
    ]
    assert len(runs) == (4 + 2 + 1) * 5 + (len(ablation.ALWA_OPTIONS) - 2) * 3
    # The candidate's seeds come before the other options'.
    assert runs[20][:3] == (
        'transfer: baseline + ALWA',
        0,
        ablation.ALWA_CANDIDATE,
    )
    demo = ablation.PLANS['alwa-demo']
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
    rpn = sum(ablation.PLANS['rpn'], [])
    assert len(rpn) == 11
    assert all(seeds == [0, 1, 2, 3, 4] for *_, seeds in rpn[:-1])
    assert rpn[-1][-1] == list(range(9))
    assert len(ablation.PLANS['rpn'][0]) == 7  # the main table first
    floor = 'model.train_cfg.rpn.sampler.neg_sampler.floor_fraction=0.5'
    assert [(v, opts) for v, _, opts, _ in ablation.PLANS['rpn'][2]] == [
        ('RPN: Libra (all three)', [floor]),
        ('Libra with Libra RPN', [floor]),
    ]
    assert {v for v, *_ in rpn} == {
        v
        for v in ablation.VARIANTS
        if 'RPN' in v and not v.startswith(ablation.BCCD)
    }
