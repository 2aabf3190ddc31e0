"""Hook that keeps a run's checkpoints loadable with ``weights_only=True``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from mmengine.hooks import Hook
from mmengine.runner.checkpoint import find_latest_checkpoint

from mmdet_libra_ext.registry import HOOKS
from mmdet_libra_ext.utils import (
    check_checkpoint_file,
    check_weights_only_loadable,
    from_weights_only,
    to_weights_only,
)
from mmdet_libra_ext.utils.checkpoint import check_not_legacy_fit
from mmdet_libra_ext.utils.checks import check_known_options
from mmdet_libra_ext.utils.compat import runner_checkpoint_to_load

if TYPE_CHECKING:
    from mmengine.runner import Runner


@HOOKS.register_module()
class WeightsOnlyCheckpointHook(Hook):
    """Save and load checkpoints that ``torch.load(weights_only=True)`` reads.

    - ``before_save_checkpoint``: the runtime state (message hub histories,
      numpy arrays and scalars) is converted to plain Python and tensor
      values, so the file needs no unsafe pickle global: ``--resume`` works
      under torch >= 2.6 and plain MMDetection can load the file too;
    - ``after_load_checkpoint``: the state is converted back before the
      runner restores it;
    - ``before_run``: the checkpoint the run is about to resume or load is
      checked. A missing, truncated or corrupt file is refused with a
      message naming it and the newest intact checkpoint beside it (instead
      of an unpickling traceback); one that needs unsafe globals is refused
      with a message naming them (instead of torch's advice to allow-list
      them); so is one ``AdaptToDataHook`` (up to 0.2) trained, where the
      config lacks its input scale and anchors, naming the command to run.

    Add it to a config with
    ``custom_hooks = [dict(type='mmdet_libra_ext.WeightsOnlyCheckpointHook')]``
    (every config of this package has it).
    """

    priority = 'VERY_HIGH'

    def __init__(self, **kwargs: Any) -> None:
        # It takes no option: name a misspelled one (``object`` would only
        # say that it takes no arguments).
        check_known_options('WeightsOnlyCheckpointHook', kwargs, ())

    def before_run(self, runner: Runner) -> None:
        """Refuse, before training, a checkpoint to resume from or load that
        is missing, truncated, corrupt or needs unsafe globals."""
        filename: Optional[str] = None
        resume, load_from = runner_checkpoint_to_load(runner)
        if resume and load_from is None:
            filename = find_latest_checkpoint(runner.work_dir)
            if filename == '':
                raise RuntimeError(
                    f'--resume: {runner.work_dir}/last_checkpoint is empty '
                    '(a save was killed while writing it). Pass a checkpoint '
                    'explicitly with --resume FILE.'
                )
        elif load_from is not None:
            filename = load_from
        if filename and '://' not in str(filename):
            check_checkpoint_file(filename)
            check_weights_only_loadable(filename)
            cfg = getattr(runner, 'cfg', None)
            if cfg is not None:
                check_not_legacy_fit(cfg, filename)

    def before_save_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Store the runtime state as plain values and tensors."""
        checkpoint.update(to_weights_only(dict(checkpoint)))

    def after_load_checkpoint(self, runner: Runner, checkpoint: dict) -> None:
        """Restore the runtime state :meth:`before_save_checkpoint` stored."""
        checkpoint.update(from_weights_only(dict(checkpoint)))
