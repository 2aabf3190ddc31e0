"""Two-process (gloo) distributed training of the demo Libra Faster R-CNN,
without and with ALWA: it trains and evaluates, parameters stay
synchronised, and the ALWA weights are identical on both ranks at every
iteration although the ranks see different images."""

import os.path as osp

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
from tests.resume_checks import assert_same_end  # noqa: E402
from tests.tool_runs import two_ranks  # noqa: E402

DEMO = osp.join(ROOT, 'configs', 'demo')


@pytest.mark.slow
@pytest.mark.parametrize(
    'name', ['libra-faster-rcnn', 'alwa-libra-faster-rcnn']
)
def test_two_rank_training_keeps_ranks_identical(name, shapes_root, tmp_path):
    work = str(tmp_path / 'work')
    config = osp.join(DEMO, name + '_r18_fpn_shapes_demo.py')
    r0, r1 = two_ranks(config, shapes_root, work)
    assert r0['world'] == r1['world'] == 2
    assert r0['wrapper'] == 'MMDistributedDataParallel'
    # 16 images, 2 ranks, batch 4, 2 epochs: 4 iterations on each rank.
    assert [r['iter'] for r in r0['records']] == [1, 2, 3, 4]
    assert [r['iter'] for r in r1['records']] == [1, 2, 3, 4]
    # The ranks trained on different images...
    assert any(
        a['losses']['loss_cls'] != b['losses']['loss_cls']
        for a, b in zip(r0['records'], r1['records'])
    )
    # DDP kept the parameters in sync.
    assert r0['param_sums'] == r1['param_sums']
    # Both ranks evaluated (COCO metric gathered over the ranks).
    assert 'coco/bbox_mAP' in r0['metrics']
    assert r0['metrics'] == r1['metrics']
    if not name.startswith('alwa'):
        return
    # Despite their different losses the ranks hold the same ALWA weights
    # at every iteration, and the weights moved.
    for a, b in zip(r0['records'], r1['records']):
        assert a['alwa_weights'] == b['alwa_weights'], a['iter']
    assert r0['records'][-1]['alwa_weights']['loss_cls'] != 1.0
    # The window (3 iterations) is open at the end of epoch 1: each rank's
    # partial rows are replaced by the rank mean before the checkpoint is
    # written, so the checkpoint (rank 0's) holds every rank's window.
    local0, local1 = (
        r0['records'][1]['alwa_rows'],
        r1['records'][1]['alwa_rows'],
    )
    assert len(local0) == 2 and local0 != local1
    mean = (torch.tensor(local0) + torch.tensor(local1)) / 2
    assert r0['epoch_rows'][0] == r1['epoch_rows'][0]
    torch.testing.assert_close(torch.tensor(r0['epoch_rows'][0]), mean)
    ckpt = torch.load(osp.join(work, 'epoch_1.pth'), weights_only=True)
    torch.testing.assert_close(ckpt['alwa']['rows'], mean)
    # Resumed from epoch_1.pth (no validation there, the ALWA window open),
    # both ranks go on exactly as in the uninterrupted run.
    resumed = str(tmp_path / 'resumed')
    parts = two_ranks(
        config, shapes_root, resumed, osp.join(work, 'epoch_1.pth')
    )
    for part, full in zip(parts, (r0, r1)):
        assert [r['iter'] for r in part['records']] == [3, 4]
        assert part['records'] == full['records'][2:]
        assert part['param_sums'] == full['param_sums']
    assert_same_end(work, resumed, 'epoch_2.pth')
