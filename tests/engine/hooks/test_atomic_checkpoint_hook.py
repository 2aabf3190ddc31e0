"""AtomicCheckpointHook: a save killed at any point leaves last_checkpoint
naming a complete checkpoint, also with max_keep_ckpts=1."""

import os.path as osp
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from mmengine.hooks import CheckpointHook
from mmengine.logging import MessageHub

from mmdet_libra_ext.engine.hooks import AtomicCheckpointHook
from mmdet_libra_ext.utils import checkpoint_problem


class Killed(Exception):
    pass


def fake_runner(work_dir, kill_after=None):
    """A runner whose save_checkpoint writes a real checkpoint file, or
    only its first ``kill_after`` bytes and then dies."""

    def save_checkpoint(out_dir, filename, *args, **kwargs):
        path = osp.join(out_dir, filename)
        torch.save({'state_dict': {'w': torch.randn(5000)}}, path)
        if runner.kill_after is not None:
            data = open(path, 'rb').read()
            open(path, 'wb').write(data[: runner.kill_after])
            raise Killed

    runner = SimpleNamespace(
        work_dir=str(work_dir),
        save_checkpoint=save_checkpoint,
        message_hub=MessageHub.get_instance('atomic_ckpt_test'),
        kill_after=kill_after,
        epoch=0,
        iter=0,
        logger=mock.Mock(),
        _resume=False,
    )
    return runner


def last(work_dir):
    return open(osp.join(work_dir, 'last_checkpoint')).read()


@pytest.mark.parametrize('hook_type', [CheckpointHook, AtomicCheckpointHook])
def test_kill_during_save_with_max_keep_one(hook_type, tmp_path):
    runner = fake_runner(tmp_path)
    hook = hook_type(interval=1, max_keep_ckpts=1)
    hook.before_train(runner)
    hook._save_checkpoint_with_step(runner, 1, {})
    assert last(tmp_path).endswith('epoch_1.pth')
    runner.kill_after = 1000  # dies half-way through epoch_2.pth
    with pytest.raises(Killed):
        hook._save_checkpoint_with_step(runner, 2, {})
    problem = checkpoint_problem(last(tmp_path))
    if hook_type is CheckpointHook:
        # MMEngine's deleted epoch_1.pth before writing epoch_2.pth:
        # nothing left to resume from.
        assert last(tmp_path).endswith('epoch_1.pth')
        assert problem == 'the file does not exist'
        assert checkpoint_problem(str(tmp_path / 'epoch_2.pth'))
        return
    assert last(tmp_path).endswith('epoch_1.pth') and problem is None
    assert not osp.exists(tmp_path / 'epoch_2.pth')
    # The resumed process (its message hub from epoch_1.pth) saves again:
    # the cut-off temporary file is replaced, then epoch_1.pth removed.
    runner = fake_runner(tmp_path)
    runner.message_hub.update_info('keep_ckpt_ids', [1])
    hook = hook_type(interval=1, max_keep_ckpts=1)
    hook.before_train(runner)
    hook._save_checkpoint_with_step(runner, 2, {})
    assert last(tmp_path).endswith('epoch_2.pth')
    assert checkpoint_problem(last(tmp_path)) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'epoch_2.pth',
        'last_checkpoint',
    ]
    assert runner.message_hub.get_info('keep_ckpt_ids') == [2]


def test_refused_by_name_where_mmengine_is_too_old(monkeypatch):
    """mmengine < 0.7.4 has no _save_checkpoint_with_step to override: the
    hook would silently be MMEngine's, so it refuses, naming the version."""
    from mmdet_libra_ext.engine.hooks import atomic_checkpoint_hook

    # (What utils/compat.py finds on such an mmengine.)
    monkeypatch.setattr(
        atomic_checkpoint_hook, 'CHECKPOINT_HOOK_SAVES_BY_STEP', False
    )
    with pytest.raises(RuntimeError, match=r'needs mmengine >= 0\.7\.4'):
        AtomicCheckpointHook(interval=1)


@pytest.mark.parametrize('hook_type', [CheckpointHook, AtomicCheckpointHook])
def test_a_stale_checkpoint_directory_is_removed_as_mmengine_does(
    hook_type, tmp_path
):
    """A checkpoint saved as a folder (a sharded save): beyond
    max_keep_ckpts it goes, as mmengine 0.10.7's own hook removes it
    (mmengine releases before that leave folders: then ours is checked
    alone)."""
    import inspect

    runner = fake_runner(tmp_path)
    hook = hook_type(interval=1, max_keep_ckpts=1)
    hook.before_train(runner)
    hook._save_checkpoint_with_step(runner, 1, {})
    # Step 1's checkpoint as a sharded save leaves it: a folder.
    (tmp_path / 'epoch_1.pth').unlink()
    (tmp_path / 'epoch_1.pth').mkdir()
    (tmp_path / 'epoch_1.pth' / 'shard_0.pt').write_bytes(b'x')
    hook._save_checkpoint_with_step(runner, 2, {})
    source = inspect.getsource(CheckpointHook._save_checkpoint_with_step)
    if hook_type is CheckpointHook and 'rmtree' not in source:
        return
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'epoch_2.pth',
        'last_checkpoint',
    ]
