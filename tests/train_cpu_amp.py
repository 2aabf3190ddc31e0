"""Run MMDetection's tools/train.py with ``--amp`` on a CPU-only machine.

    python tests/train_cpu_amp.py TRAIN_PY CONFIG --amp \
        --cfg-options optim_wrapper.dtype=bfloat16 ...

mmengine 0.10.7's ``AmpOptimWrapper`` asserts a GPU (or NPU/MLU/MUSA) in
its constructor; the rest of its code path works on a CPU: the GradScaler
disables itself without CUDA (bfloat16 needs no loss scaling) and
mmengine's ``autocast`` enters ``torch.autocast('cpu', dtype)``. And mmcv
2.1's CPU kernels of NMS and RoIAlign take float32 only (its CUDA kernels take
half precision too), while under CPU autocast the RPN's boxes and the FPN
features they crop arrive in bfloat16. This script lifts that assertion and
runs those kernels on float32 copies (writing results back in the caller's
dtype), then runs train.py unchanged, and prints how many convolution/linear
outputs were computed in each dtype (the proof that autocast was on). Every
component of this package runs unpatched.
"""

import collections
import importlib
import runpy
import sys

import torch
from mmengine.optim.optimizer import amp_optimizer_wrapper

amp_optimizer_wrapper.is_cuda_available = lambda: True


def _float32_kernel(kernel, outputs=()):
    """Run an mmcv CPU kernel on float32 copies of its bfloat16 tensors; the
    arguments it fills in place (positions ``outputs``) get the results
    back in their own dtype."""

    def wrapped(*args, **kwargs):
        copies = [
            a.float()
            if torch.is_tensor(a) and a.dtype == torch.bfloat16
            else a
            for a in args
        ]
        out = kernel(*copies, **kwargs)
        for i in outputs:
            if copies[i] is not args[i]:
                args[i].copy_(copies[i])
        return out

    return wrapped


_ext = importlib.import_module('mmcv.ops.nms').ext_module
# Positions of the tensors each kernel fills (mmcv/ops/roi_align.py).
for _name, _outputs in (
    ('nms', ()),
    ('roi_align_forward', (2, 3, 4)),
    ('roi_align_backward', (4,)),
):
    setattr(_ext, _name, _float32_kernel(getattr(_ext, _name), _outputs))

dtypes = collections.Counter()


def _record(module, args, output):
    if (
        isinstance(module, (torch.nn.Conv2d, torch.nn.Linear))
        and torch.is_tensor(output)
        and torch.is_grad_enabled()
    ):
        dtypes[str(output.dtype)] += 1


torch.nn.modules.module.register_module_forward_hook(_record)

if __name__ == '__main__':
    train = sys.argv[1]
    sys.argv = [train] + sys.argv[2:]
    try:
        runpy.run_path(train, run_name='__main__')
    finally:
        print('TRAINING_OUTPUT_DTYPES', dict(dtypes))
