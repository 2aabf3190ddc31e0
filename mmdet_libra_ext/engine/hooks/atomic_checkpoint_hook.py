"""MMEngine's checkpoint hook, made safe against a process killed while it
saves."""

from __future__ import annotations

import os.path as osp
from typing import TYPE_CHECKING, Any, Set

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook

from mmdet_libra_ext.registry import HOOKS
from mmdet_libra_ext.utils.atomic_io import atomic_replace, write_text_atomic
from mmdet_libra_ext.utils.checks import (
    check_int,
    check_known_options,
    named_args,
)
from mmdet_libra_ext.utils.compat import (
    CHECKPOINT_HOOK_SAVES_BY_STEP,
    checkpoint_hook_save_with_step,
)

if TYPE_CHECKING:
    from mmengine.runner import Runner


def checkpoint_hook_options() -> Set[str]:
    """What this mmengine's ``CheckpointHook`` takes: its named arguments,
    and the extra ``Runner.save_checkpoint`` arguments its ``**kwargs``
    forward (those the hook does not pass itself)."""
    from mmengine.runner import Runner

    hook = named_args(CheckpointHook.__init__)
    passed = {'out_dir', 'filename', 'meta'} | hook
    return hook | (named_args(Runner.save_checkpoint) - passed)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose files are always complete.

    On the local file system, each checkpoint is written to a temporary
    file and renamed into place, then ``last_checkpoint`` is replaced the
    same way, and only then are the checkpoints beyond ``max_keep_ckpts``
    removed: a process killed at any moment leaves ``last_checkpoint``
    naming a complete file (docs/components.md). Remote back ends keep
    MMEngine's behaviour. Every argument is ``CheckpointHook``'s; an
    unknown one is refused at construction, naming it.

    Example:
        >>> default_hooks = dict(checkpoint=dict(
        ...     type='mmdet_libra_ext.AtomicCheckpointHook', interval=1))
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not CHECKPOINT_HOOK_SAVES_BY_STEP:
            import mmengine

            raise RuntimeError(
                f'mmdet_libra_ext.AtomicCheckpointHook needs mmengine >= '
                f'0.7.4 (its CheckpointHook._save_checkpoint_with_step); '
                f'this is mmengine {mmengine.__version__}. Upgrade mmengine, '
                f"or use MMEngine's CheckpointHook (not kill-safe)."
            )
        check_known_options(
            'AtomicCheckpointHook', kwargs, checkpoint_hook_options()
        )
        for name in ('interval', 'max_keep_ckpts', 'save_begin'):
            if name in kwargs:
                check_int(
                    name, kwargs[name], 0 if name == 'save_begin' else None
                )
        super().__init__(*args, **kwargs)

    def _save_checkpoint_with_step(
        self, runner: Runner, step: int, meta: dict
    ) -> None:
        if not isinstance(self.file_backend, LocalBackend):
            checkpoint_hook_save_with_step(self, runner, step, meta)
            return
        stale = []
        if self.max_keep_ckpts > 0 and not (
            self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step
        ):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info(
                'keep_ckpt_ids', list(self.keep_ckpt_ids)
            )
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            f'{filename}.tmp',
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args,
        )
        if not is_main_process():
            return
        atomic_replace(f'{self.last_ckpt}.tmp', self.last_ckpt)
        write_text_atomic(
            osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt
        )
        for old in stale:
            # A file, or a directory (as mmengine 0.10.7 removes the
            # checkpoints a sharded save writes as folders).
            path = osp.join(self.out_dir, self.filename_tmpl.format(old))
            if osp.isfile(path):
                self.file_backend.remove(path)
            elif osp.isdir(path):
                self.file_backend.rmtree(path)
