"""The private names the package reads from mmengine and torch, checked
against real objects of this stack (the suite runs on every stack of the
tested range: .dev_scripts/stacks.sh), through the accessors of
mmdet_libra_ext/utils/compat.py, the one place that reads them."""

import torch
from mmengine.hooks import CheckpointHook
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmdet_libra_ext.utils import compat


class _Model(BaseModel):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, *args, **kwargs):
        return {}


def _runner(tmp_path, **kwargs):
    return Runner(
        model=_Model(),
        work_dir=str(tmp_path),
        experiment_name=f'compat_{len(list(tmp_path.iterdir()))}',
        **kwargs,
    )


def test_runner_randomness(tmp_path):
    runner = _runner(tmp_path, randomness=dict(seed=3, diff_rank_seed=True))
    got = compat.runner_randomness(runner)
    assert got['seed'] == 3 and got['diff_rank_seed'] is True
    assert runner.seed == 3  # (the public part agrees)


def test_runner_checkpoint_to_load(tmp_path):
    ckpt = str(tmp_path / 'x.pth')
    assert compat.runner_checkpoint_to_load(
        _runner(tmp_path, resume=True, load_from=ckpt)
    ) == (True, ckpt)
    assert compat.runner_checkpoint_to_load(_runner(tmp_path)) == (
        False,
        None,
    )


def test_checkpoint_hook_saves_by_step():
    assert compat.CHECKPOINT_HOOK_SAVES_BY_STEP
    assert callable(CheckpointHook._save_checkpoint_with_step)


def test_weights_only_allowed_globals():
    allowed = compat.weights_only_allowed_globals()
    if not compat.HAS_UNSAFE_GLOBALS_SCAN:
        # torch < 2.5: the scan of a checkpoint's globals relies on it.
        assert allowed is not None
    if allowed is not None:
        assert 'collections.OrderedDict' in allowed
        assert 'torch._utils._rebuild_tensor_v2' in allowed


def test_checkpoint_hook_saves_after_iter(tmp_path):
    """As the hook's own after_train_iter decides, on every mmengine of the
    range (save_begin is mmengine >= 0.8)."""
    runner = _runner(tmp_path)
    every_iter = CheckpointHook(interval=1, by_epoch=False, save_last=False)
    every_fifth = CheckpointHook(interval=5, by_epoch=False, save_last=False)
    assert runner.iter == 0
    assert compat.checkpoint_hook_saves_after_iter(every_iter, runner)
    assert not compat.checkpoint_hook_saves_after_iter(every_fifth, runner)


def test_iter_loop_skips_trained_batches():
    """The version flag agrees with what this mmengine's loop does."""
    import inspect

    from mmengine.runner import IterBasedTrainLoop

    source = inspect.getsource(IterBasedTrainLoop.run)
    assert compat.ITER_LOOP_SKIPS_TRAINED_BATCHES == (
        'next(self.dataloader_iterator)' in source
        and 'range(self._iter)' in source
    )


def test_numpy_reconstruct_is_what_pickled_arrays_name():
    import pickle

    import numpy as np

    payload = pickle.dumps(np.zeros(2))
    assert compat.numpy_reconstruct().__name__ == '_reconstruct'
    assert compat.numpy_reconstruct().__module__.encode() in payload


def test_coco_api_of_a_metric(tmp_path):
    import json

    from mmdet.evaluation import CocoMetric

    ann = tmp_path / 'a.json'
    ann.write_text(
        json.dumps(
            dict(
                images=[dict(id=1, width=4, height=4, file_name='a.jpg')],
                annotations=[],
                categories=[dict(id=1, name='x')],
            )
        )
    )
    assert compat.coco_api(CocoMetric()) is None
    api = compat.coco_api(CocoMetric(ann_file=str(ann)))
    assert api.get_img_ids() == [1]


def test_checkpoint_hook_save_with_step_is_mmengine_s(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(
        CheckpointHook,
        '_save_checkpoint_with_step',
        lambda self, runner, step, meta: seen.append((self, step, meta)),
    )
    hook = CheckpointHook(interval=1)
    compat.checkpoint_hook_save_with_step(hook, None, 3, {'m': 1})
    assert seen == [(hook, 3, {'m': 1})]


def test_mmdeploy_export_patches_are_undone():
    import pytest

    pytest.importorskip('mmdeploy')
    import mmdeploy.core.rewriters.function_rewriter as fr
    import torch.onnx.symbolic_opset9 as opset9

    before = (fr._wrapped_fns_to_patch, hasattr(opset9, '_cast_Long'))
    undo = compat.mmdeploy_export_patches()
    # Where torch changed them, mmdeploy sees what it was written for.
    assert isinstance(fr._wrapped_fns_to_patch, list)
    assert hasattr(opset9, '_cast_Long')
    assert len(undo) == compat.FX_WRAPPED_FNS_IS_DICT + (not before[1])
    for fn in reversed(undo):
        fn()
    assert fr._wrapped_fns_to_patch is before[0]
    assert hasattr(opset9, '_cast_Long') == before[1]
