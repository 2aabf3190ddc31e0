"""What the installed torch, numpy, mmengine, MMDetection and mmdeploy
provide, decided once at import, and the one place where the package reads
their private attributes.

This package runs on every stack ``setup.py`` claims (docs/compatibility.md);
code whose behaviour depends on a version asks here instead of testing
versions or private attributes itself. Each private name read below is
checked against a real object on every stack of the tested range
(tests/utils/test_compat.py): a release that renames one fails there, not in
a training run.
"""

import importlib
import inspect
from types import ModuleType
from typing import Any, Callable, List, Optional, Set, Tuple

import mmengine
import numpy as np
import torch
from mmengine.utils import digit_version

TORCH_VERSION = digit_version(torch.__version__)
MMENGINE_VERSION = digit_version(mmengine.__version__)
NUMPY_VERSION = digit_version(np.__version__)

#: ``F.scaled_dot_product_attention(..., scale=)`` (torch >= 2.1).
SDPA_HAS_SCALE = TORCH_VERSION >= (2, 1)
#: ``torch.serialization.add_safe_globals`` / ``get_safe_globals``
#: (torch >= 2.4).
HAS_SAFE_GLOBALS = hasattr(torch.serialization, 'add_safe_globals')
#: ``torch.serialization.get_unsafe_globals_in_checkpoint`` (torch >= 2.5).
HAS_UNSAFE_GLOBALS_SCAN = hasattr(
    torch.serialization, 'get_unsafe_globals_in_checkpoint'
)

#: ``torch.onnx.export(..., dynamo=)``: the choice of exporter (torch >= 2.5;
#: before, only the TorchScript exporter is there).
ONNX_EXPORT_HAS_DYNAMO = (
    'dynamo' in inspect.signature(torch.onnx.export).parameters
)


def torchscript_onnx_export_kwargs() -> dict:
    """Keyword arguments that select the TorchScript ONNX exporter on
    every torch (``dynamo=False`` where there is a choice)."""
    return {'dynamo': False} if ONNX_EXPORT_HAS_DYNAMO else {}


def numpy_multiarray() -> ModuleType:
    """numpy's ``multiarray`` module under its public pickling name:
    ``numpy._core.multiarray`` from numpy 2 on, ``numpy.core.multiarray``
    before (numpy 1.26 has a ``numpy._core`` stub without it)."""
    name = 'numpy._core' if NUMPY_VERSION >= (2,) else 'numpy.core'
    return importlib.import_module(f'{name}.multiarray')


def runner_randomness(runner: Any) -> dict:
    """The ``randomness`` settings a runner was built with (``seed``,
    ``diff_rank_seed``, ``deterministic``): mmengine keeps them only in the
    private ``Runner._randomness_cfg``."""
    return dict(getattr(runner, '_randomness_cfg', None) or {})


def runner_checkpoint_to_load(runner: Any) -> Tuple[bool, Optional[str]]:
    """``(resume, load_from)`` as the runner will act on them before
    training (mmengine's private ``Runner._resume`` and ``_load_from``)."""
    return bool(getattr(runner, '_resume', False)), getattr(
        runner, '_load_from', None
    )


#: A resumed ``IterBasedTrainLoop`` advances its data iterator past the
#: batches already trained (mmengine >= 0.10.3, open-mmlab/mmengine#1471);
#: before, it starts again from the first batch.
ITER_LOOP_SKIPS_TRAINED_BATCHES = MMENGINE_VERSION >= digit_version('0.10.3')


#: mmengine's ``CheckpointHook`` saves through the private
#: ``_save_checkpoint_with_step`` (mmengine >= 0.7.4), the method
#: ``AtomicCheckpointHook`` overrides.
CHECKPOINT_HOOK_SAVES_BY_STEP = hasattr(
    importlib.import_module('mmengine.hooks').CheckpointHook,
    '_save_checkpoint_with_step',
)


def weights_only_allowed_globals() -> Optional[Set[str]]:
    """The globals torch's ``weights_only`` unpickler allows
    (``module.qualname``), from its private ``_get_allowed_globals``, for
    torch < 2.5, which has no public scan of a checkpoint's globals; None
    where this torch does not expose them."""
    from torch import _weights_only_unpickler

    allowed_fn = getattr(_weights_only_unpickler, '_get_allowed_globals', None)
    return None if allowed_fn is None else set(allowed_fn())


def checkpoint_hook_saves_after_iter(hook: Any, runner: Any) -> bool:
    """Whether an iteration-based ``CheckpointHook`` saves after the
    runner's current iteration, as its own ``after_train_iter`` decides:
    every ``interval`` iterations from ``save_begin`` (mmengine >= 0.8; from
    the start before), and after the last one with ``save_last``."""
    save_begin = getattr(hook, 'save_begin', None)
    if save_begin is None:
        every = hook.every_n_train_iters(runner, hook.interval)
    else:
        every = hook.every_n_train_iters(runner, hook.interval, save_begin)
    return bool(every or (hook.save_last and hook.is_last_train_iter(runner)))


def numpy_reconstruct() -> Any:
    """numpy's private ``multiarray._reconstruct``, which pickled arrays
    name (allowed for ``weights_only`` loading)."""
    return numpy_multiarray()._reconstruct


def coco_api(metric: Any) -> Any:
    """The COCO ground truth MMDetection's ``CocoMetric`` loaded from its
    ``ann_file`` (its private ``_coco_api``, None without one)."""
    return getattr(metric, '_coco_api', None)


def checkpoint_hook_save_with_step(
    hook: Any, runner: Any, step: int, meta: dict
) -> None:
    """mmengine's own ``CheckpointHook._save_checkpoint_with_step`` (mmengine
    >= 0.7.4: :data:`CHECKPOINT_HOOK_SAVES_BY_STEP`) on ``hook``."""
    from mmengine.hooks import CheckpointHook

    CheckpointHook._save_checkpoint_with_step(hook, runner, step, meta)


#: torch.fx keeps its ``_wrapped_fns_to_patch`` in a dict (torch >= 2.9;
#: a list before), which mmdeploy 1.3.1's function rewriter appends to.
FX_WRAPPED_FNS_IS_DICT = isinstance(
    getattr(
        importlib.import_module('torch.fx._symbolic_trace'),
        '_wrapped_fns_to_patch',
        [],
    ),
    dict,
)


def mmdeploy_export_patches() -> List[Callable[[], None]]:
    """Patch the private names mmdeploy 1.3.1's export reads that this torch
    changed (mmdet_libra_ext/deploy/mmdeploy_compat.py says why); returns
    the calls that undo each patch. Nothing where torch needs none.

    - ``mmdeploy.core.rewriters.function_rewriter._wrapped_fns_to_patch``:
      a list of mmdeploy's own where torch's is a dict
      (:data:`FX_WRAPPED_FNS_IS_DICT`);
    - ``torch.onnx.symbolic_opset9._cast_Long`` (gone from torch 2.9): a
      ``Cast`` to int64.
    """
    import mmdeploy.core.rewriters.function_rewriter as function_rewriter
    import torch.onnx.symbolic_opset9 as opset9

    undo = []
    wrapped = function_rewriter._wrapped_fns_to_patch
    if not isinstance(wrapped, list):
        function_rewriter._wrapped_fns_to_patch = []
        undo.append(
            lambda: setattr(
                function_rewriter, '_wrapped_fns_to_patch', wrapped
            )
        )
    if not hasattr(opset9, '_cast_Long'):
        setattr(opset9, '_cast_Long', _onnx_cast_long)  # noqa: B010
        undo.append(lambda: delattr(opset9, '_cast_Long'))
    return undo


def _onnx_cast_long(g: Any, input: Any, non_blocking: Any) -> Any:  # noqa: A002
    """torch's former ``symbolic_opset9._cast_Long``: a ``Cast`` to int64
    (its private ``_type_utils`` moved under ``torchscript_exporter`` in
    torch 2.9)."""
    try:
        type_utils = importlib.import_module(
            'torch.onnx._internal.torchscript_exporter._type_utils'
        )
    except ImportError:  # torch < 2.9
        type_utils = importlib.import_module('torch.onnx._type_utils')
    return g.op('Cast', input, to_i=type_utils.JitScalarType.INT64.onnx_type())
