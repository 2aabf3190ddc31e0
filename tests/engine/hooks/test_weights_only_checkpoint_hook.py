"""The hook converts on save, restores on load, and refuses unsafe files
before a run starts."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from mmdet_libra_ext.engine.hooks import WeightsOnlyCheckpointHook


def _checkpoint():
    hub = MessageHub('hook_test')
    hub.update_scalar('train/loss', 0.5)
    hub.update_info('lr', np.float64(0.1))
    return {
        'meta': {'epoch': 1},
        'state_dict': {'w': torch.ones(2)},
        'message_hub': hub.state_dict(),
    }


def test_save_then_load_round_trip(tmp_path):
    hook = WeightsOnlyCheckpointHook()
    ckpt = _checkpoint()
    hook.before_save_checkpoint(None, ckpt)
    path = tmp_path / 'c.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path, weights_only=True)
    hook.after_load_checkpoint(None, loaded)
    assert isinstance(
        loaded['message_hub']['log_scalars']['train/loss'], HistoryBuffer
    )
    assert type(loaded['message_hub']['runtime_info']['lr']) is np.float64


def test_before_run_refuses_unsafe_checkpoint(tmp_path):
    path = tmp_path / 'unsafe.pth'
    torch.save(_checkpoint(), path)  # raw mmengine state: needs unsafe globals
    runner = SimpleNamespace(
        _resume=False, _load_from=str(path), work_dir=str(tmp_path)
    )
    with pytest.raises(RuntimeError, match='history_buffer.HistoryBuffer'):
        WeightsOnlyCheckpointHook().before_run(runner)
    # Resuming the latest checkpoint of a work dir is checked too.
    (tmp_path / 'last_checkpoint').write_text(str(path))
    runner = SimpleNamespace(
        _resume=True, _load_from=None, work_dir=str(tmp_path)
    )
    with pytest.raises(RuntimeError, match='weights_only=True'):
        WeightsOnlyCheckpointHook().before_run(runner)
    # Nothing to load: nothing to check.
    WeightsOnlyCheckpointHook().before_run(
        SimpleNamespace(_resume=False, _load_from=None, work_dir=str(tmp_path))
    )


def test_before_run_refuses_truncated_or_missing_checkpoint(tmp_path):
    good = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': {'w': torch.ones(1000)}}, good)
    data = good.read_bytes()
    bad = tmp_path / 'epoch_2.pth'
    bad.write_bytes(data[: len(data) - 100])
    hook = WeightsOnlyCheckpointHook()
    runner = SimpleNamespace(
        _resume=False, _load_from=str(bad), work_dir=str(tmp_path)
    )
    with pytest.raises(
        RuntimeError, match='epoch_2.pth.*truncated.*epoch_1.pth'
    ):
        hook.before_run(runner)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'gone.pth'))
    runner = SimpleNamespace(
        _resume=True, _load_from=None, work_dir=str(tmp_path)
    )
    with pytest.raises(RuntimeError, match='gone.pth.*does not exist'):
        hook.before_run(runner)
    (tmp_path / 'last_checkpoint').write_text('')
    with pytest.raises(RuntimeError, match='last_checkpoint is empty'):
        hook.before_run(runner)


def test_before_run_refuses_a_former_fitting_hook_s_checkpoint(tmp_path):
    """tools/test.py with a checkpoint AdaptToDataHook (up to 0.2) trained
    and a config without its input scale and anchors: refused, naming the
    command that writes the config of those weights; with that config
    (it has the fitted_to_data record), accepted."""
    from mmengine.config import Config

    from tests.adapted_checkpoints import save_adapted

    ckpt = save_adapted(tmp_path / 'old.pth')
    runner = SimpleNamespace(
        _resume=False,
        _load_from=ckpt,
        work_dir=str(tmp_path),
        cfg=Config(dict(model=dict(type='FasterRCNN'))),
    )
    with pytest.raises(ValueError, match='--from-checkpoint'):
        WeightsOnlyCheckpointHook().before_run(runner)
    runner.cfg = Config(dict(fitted_to_data=dict(num_images=23)))
    WeightsOnlyCheckpointHook().before_run(runner)
