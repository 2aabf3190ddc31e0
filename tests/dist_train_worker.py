"""Two gloo ranks train and evaluate a demo config with MMDetection's runner
(run as a script by test_train_distributed.py: spawned children must import
this module by path).

    python tests/dist_train_worker.py CONFIG DATA_ROOT WORK_DIR [RESUME]

mmengine 0.10.7's ``--launcher pytorch`` calls ``torch.cuda.set_device``,
which fails without a GPU, so each rank initialises its gloo process group
itself before building the runner (mmengine then skips its own
``init_dist``), with ``MMDistributedDataParallel`` on CPU
(``device_ids=None``). Each rank writes what it saw at every iteration to
``WORK_DIR/rank{r}.json``. With ``RESUME`` (a checkpoint file) the run
resumes from it, as ``tools/train.py --resume RESUME`` does.
"""

import json
import os
import os.path as osp
import socket
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

# (Run as a script: its folder is on sys.path.)
from tiny import tiny_settings  # noqa: E402


def _tiny(cfg, data_root):
    # 2 iterations per epoch and rank, 2 epochs; validation at the end
    # only (none at the resume point).
    cfg.merge_from_dict(
        tiny_settings(data_root, epochs=2, train_images=16, val_images=8)
    )
    cfg.train_cfg.val_interval = 2
    cfg.default_hooks.checkpoint.max_keep_ckpts = -1
    for hook in cfg.custom_hooks:
        if hook['type'] == 'mmdet_libra_ext.ALWAHook':
            hook['interval'] = 3  # a window open at the epoch's end


def _worker(rank, world, port, config, data_root, work_dir, resume):
    torch.set_num_threads(1)
    os.environ.update(
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
    )
    dist.init_process_group('gloo', rank=rank, world_size=world)

    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    import mmdet_libra_ext  # noqa: F401

    register_all_modules()

    cfg = Config.fromfile(config)
    _tiny(cfg, data_root)
    cfg.work_dir = work_dir
    if resume:
        cfg.resume, cfg.load_from = True, resume
    cfg.launcher = 'pytorch'
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        device_ids=None,
    )
    runner = Runner.from_cfg(cfg)

    records, epoch_rows, val_metrics = [], [], {}

    class Recorder(Hook):
        """Per iteration: this rank's losses, ALWA weights and window."""

        def after_train_iter(
            self, runner, batch_idx, data_batch=None, outputs=None
        ):
            alwa = [h for h in runner.hooks if type(h).__name__ == 'ALWAHook']
            rec = {
                'iter': runner.iter + 1,
                'losses': {k: float(v) for k, v in outputs.items()},
            }
            if alwa:
                state = alwa[0].state_dict()
                rec['alwa_weights'] = state['weights']
                rec['alwa_rows'] = state['rows'].tolist()
            balance = {
                k: float(buf.current())
                for k, buf in runner.message_hub.log_scalars.items()
                if k.startswith('train/balance/')
            }
            if balance:
                rec['balance'] = balance
            records.append(rec)

        def after_val_epoch(self, runner, metrics=None):
            val_metrics.update(
                {k: float(v) for k, v in (metrics or {}).items()}
            )

        def after_train_epoch(self, runner):
            alwa = [h for h in runner.hooks if type(h).__name__ == 'ALWAHook']
            if alwa:
                epoch_rows.append(alwa[0].state_dict()['rows'].tolist())

    runner.register_hook(Recorder(), priority='LOWEST')
    runner.train()
    model = runner.model.module
    param_sum = [float(p.detach().double().sum()) for p in model.parameters()]
    out = {
        'rank': rank,
        'world': dist.get_world_size(),
        'wrapper': type(runner.model).__name__,
        'records': records,
        'epoch_rows': epoch_rows,
        'param_sums': param_sum,
        'metrics': val_metrics,
    }
    with open(osp.join(work_dir, f'rank{rank}.json'), 'w') as f:
        json.dump(out, f)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == '__main__':
    config, data_root, work_dir = sys.argv[1:4]
    resume = sys.argv[4] if len(sys.argv) > 4 else None
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    mp.spawn(
        _worker, args=(2, port, config, data_root, work_dir, resume), nprocs=2
    )
