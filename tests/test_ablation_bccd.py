"""The BCCD variants through experiments/ablation.py and the report tool (a
BCCD-like dataset), and the BCCD plan."""

import glob
import json
import os.path as osp

import pytest

from experiments.ablation import main as ablation
from tests.tool_runs import ROOT, run_main, run_tool  # noqa: E402


@pytest.mark.slow
def test_bccd_variant_trains_records_per_class_and_draws(
    tmp_path, bccd_like_root, capsys
):
    """A BCCD config trains through the ablation tool (MMDetection's
    tools/train.py, VOCDataset, zero-size boxes in train and val), its
    record holds both VOC AP50s and every class's AP, the table shows them,
    and the report draws the run's detections on validation images. With
    --test-once the run is tested as it lands (one view and fused), and
    the recipe trained on trainval is evaluated on test as it lands too,
    and tabulated on test only."""
    results = str(tmp_path / 'results.json')
    tool = ['-m', 'experiments.ablation']
    trainval = 'BCCD: baseline, trained on trainval'
    log = run_tool(
        [
            *tool,
            'run',
            '--variants',
            'BCCD: Libra',
            trainval,
            '--seeds',
            '0',
            '--epochs',
            '1',
            '--test-once',
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
    assert f'{trainval} seed 0: test-tta mAP' in log

    def load(variant):
        (r,) = [r for r in json.load(open(results)) if r['variant'] == variant]
        return r

    rec, whole = load('BCCD: Libra'), load(trainval)
    assert rec['iters'] == 1  # 4 training images, batch 4
    # Trainval, 6 images: 2 iterations, no validation, test evaluated.
    assert whole['variant'] == trainval and whole['iters'] == 2
    assert 'bbox_mAP' not in whole and 'val-tta' not in whole
    for key in ('test', 'test-tta'):
        assert set(whole[key]) >= {'voc07/AP50', 'voc12/RBC_AP50', 'bbox_mAP'}
    with open(osp.join(whole['work_dir'], 'test-tta.log')) as f:
        assert "type='mmdet_libra_ext.WBFTTAModel'" in f.read()
    classes = ('RBC', 'WBC', 'Platelets')
    for prefix in ('voc07', 'voc12'):
        assert 0 <= rec[f'{prefix}/AP50'] <= 1
        for c in classes:
            assert 0 <= rec[f'{prefix}/{c}_AP50'] <= 1
    for c in classes:
        assert f'coco/{c}_precision' in rec
    # (The commands that evaluate nothing run in this process.)
    table = run_main(ablation, ['table', '--results', results])
    assert trainval not in table
    assert (
        '| variant | seeds | AP50 (11-pt) | AP50 (area) | RBC AP50 | '
        'WBC AP50 | Platelets AP50 | box mAP | RBC mAP | WBC mAP | '
        'Platelets mAP | s/iter |'
    ) in table
    assert f'| BCCD: Libra | 0 | {rec["voc07/AP50"]:.3f} |' in table
    # The test split, once, as the run landed (--test-once): MMDetection's
    # tools/test.py on the run's best checkpoint, recorded beside the
    # validation metrics, with one view and fused; nothing left to test.
    assert f'test mAP {rec["test"]["bbox_mAP"]:.3f}' in log
    assert set(rec['test']) >= {'voc07/AP50', 'voc12/WBC_AP50', 'bbox_mAP'}
    assert set(rec['test-tta']) >= {'voc07/AP50', 'bbox_mAP'}
    test = ['test', 'BCCD: Libra', '--results', results]
    assert '0 runs to evaluate (test)' in run_main(ablation, test)
    # Val with the config's test-time augmentation (tools/test.py --tta:
    # WBFTTAModel over four flips): recorded when the run finished.
    assert set(rec['val-tta']) >= {'voc07/AP50', 'voc12/WBC_AP50', 'bbox_mAP'}
    tta = test + ['--tta', '--threads', '1']
    assert '0 runs to evaluate (val-tta)' in run_main(
        ablation, tta + ['--split', 'val']
    )
    assert '0 runs to evaluate (test-tta)' in run_main(ablation, tta)
    # The test command evaluates a run that lacks the evaluation (here the
    # fused one, taken out of its record): the same checkpoint, the same
    # metrics.
    from experiments.store import load_results, save_results

    fused = rec['test-tta']
    kept = load_results(results)
    for r in kept:
        if r['variant'] == 'BCCD: Libra':
            del r['test-tta']
    save_results(results, kept)
    assert '1 runs to evaluate (test-tta)' in run_tool([*tool, *tta], ROOT)
    assert load('BCCD: Libra')['test-tta'] == fused
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
    compare = run_main(
        ablation,
        ['compare', 'BCCD: Libra', 'BCCD: Libra', '--results', results]
        + ['--split', 'val-tta', '--split-b', 'val']
        + ['--metric', 'voc07/Platelets_AP50'],
    )
    diff = rec['val-tta']['voc07/Platelets_AP50'] - rec['voc07/Platelets_AP50']
    assert f'| difference | {diff:+.3f} |' in compare
    assert "'BCCD: Libra (val-tta)' minus 'BCCD: Libra (val)'" in compare
    table = run_main(
        ablation, ['table', '--split', 'test', '--results', results]
    )
    assert 'Evaluated on the test split.' in table
    assert f'| BCCD: Libra | 0 | {rec["test"]["voc07/AP50"]:.3f} |' in table
    assert f'| {trainval} | 0 | {whole["test"]["voc07/AP50"]:.3f} |' in table
    # The report: metrics with the VOC rows, the detections drawn, and the
    # error table.
    work = rec['work_dir']
    out = run_tool(
        [osp.join(ROOT, 'tools', 'analysis_tools', 'report.py'), work]
        + ['--images', '2']
        + ['--errors', '--score-thr', '0.05'],
        ROOT,
    )
    assert f'| voc07/AP50 | {rec["voc07/AP50"]:.3f} |' in out
    assert osp.getsize(osp.join(work, 'report', 'detections.png')) > 20000
    # What it drew: each image's ground truth as the dataset has it (the
    # first val image, with its zero-size box, 6), and the detections at
    # the threshold as MMDetection's inference_detector gives them.
    from mmdet.apis import inference_detector, init_detector

    from mmdet_libra_ext.analysis.errors import error_table
    from mmdet_libra_ext.analysis.work_dir import run_config
    from tests.tool_runs import load_tool

    report = load_tool('tools/analysis_tools/report.py')

    counts = report.draw_detections(
        work, str(tmp_path / 'det.png'), num_images=2, score_thr=0.05
    )
    config, ckpt = run_config(work)
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
    assert osp.isfile(osp.join(work, 'report', 'errors.md'))
    rows = error_table(work, score_thr=0.05)
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
        # The 11-point AP50 is the mean of its 11 points; precision at
        # recall >= r cannot grow with r; the last point is zero exactly
        # when an annotated box is never found.
        points = r['points']
        assert len(points) == 11
        assert sum(points) / 11 == pytest.approx(r['ap50'], abs=1e-6)
        assert all(a >= b for a, b in zip(points, points[1:]))
        assert (points[-1] == 0) == (r['found'] < 1)
        assert f'| {r["cls"]} | {r["found"]:.3f} | {points[0]:.2f} |' in out
    # The test split, when asked: its annotations.
    rows = error_table(work, score_thr=0.05, split='test')
    assert [r['annotated'] for r in rows] == [6, 2, 2]
    # Per image: a row per class annotated in each image; the annotated
    # boxes, the matched detections and the boxes found (matching is per
    # image) add up to the whole split's.
    per_image = error_table(work, score_thr=0.05, split='test', per_image=True)
    test_images = sorted(
        osp.basename(i) for i in glob.glob(bccd_like_root + 'JPEGImages/*')
    )[-2:]
    assert sorted({r['image'] for r in per_image}) == test_images
    for whole_row in rows:
        mine = [r for r in per_image if r['cls'] == whole_row['cls']]
        assert all(r['annotated'] > 0 for r in mine)
        for key in ('annotated', 'matched'):
            assert sum(r[key] for r in mine) == whole_row[key]
        assert sum(r['found'] * r['annotated'] for r in mine) == (
            pytest.approx(whole_row['found'] * whole_row['annotated'])
        )
    out = run_main(
        report.main,
        [work, '--images', '0', '--errors', '--per-image', '--split', 'test'],
    )
    assert '| image | class | annotated |' in out
    row = per_image[0]
    assert f'| {row["image"]} | {row["cls"]} | {row["annotated"]} |' in out
    # The run trained on trainval has no validation split: drawn on its
    # test images (five annotated cells each).
    capsys.readouterr()
    counts = report.draw_detections(
        whole['work_dir'], str(tmp_path / 'tv.png'), 2, score_thr=0.05
    )
    assert [gt for gt, _ in counts] == [5, 5]
    assert 'detections on 2 test images' in capsys.readouterr().out
    # --again: evaluated anew (after a fix of the evaluation) and replaced,
    # though its metrics were evaluated once already.
    mtime = osp.getmtime(osp.join(rec['work_dir'], 'test.log'))
    again = run_tool([*tool, *test, '--again'], ROOT)
    assert '1 runs to evaluate (test)' in again
    assert osp.getmtime(osp.join(rec['work_dir'], 'test.log')) > mtime
    assert load('BCCD: Libra')['test'] == rec['test']


def test_bccd_plan_and_missing_dataset(tmp_path):
    from experiments import plans, runner

    stages = plans.PLANS['bccd']
    rows = [v for v, *_ in stages[0]]
    assert rows == [
        'BCCD: baseline',
        'BCCD: Libra',
        'BCCD: Libra with Libra RPN (floor_fraction=0.5)',
        'BCCD: baseline + ALWA (alwa-rpn-diffstd)',
    ]
    # Then the recipe trained on trainval, before the components alone.
    assert [v for v, *_ in stages[1]] == [
        'BCCD: baseline, trained on trainval'
    ]
    assert all(seeds == [0, 1, 2, 3, 4] for *_, seeds in sum(stages, []))
    # The BCCD runs follow their config's schedule, the others the demo's.
    from mmengine.config import Config

    bccd = Config.fromfile(
        osp.join(ROOT, 'configs', 'bccd', 'faster-rcnn_r18_fpn_bccd.py')
    )
    assert plans.default_epochs('BCCD: baseline') == bccd.train_cfg.max_epochs
    assert plans.default_epochs('Libra RetinaNet') == 12
    assert plans.voc_data_root_options('/x/BCCD') == [
        f'{s}_dataloader.dataset.data_root=/x/BCCD/'
        for s in ('train', 'val', 'test')
    ]
    # (A config without validation gets no val_dataloader.)
    assert plans.voc_data_root_options('/x/BCCD/', val=False) == [
        f'{s}_dataloader.dataset.data_root=/x/BCCD/' for s in ('train', 'test')
    ]
    # No dataset where it is looked for: a message naming the place and
    # where to get it, before anything trains.
    with pytest.raises(SystemExit, match='Shenggan/BCCD_Dataset'):
        runner.prepare({'BCCD: baseline'}, str(tmp_path) + '/')
