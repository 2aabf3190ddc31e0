"""An mmdeploy rewriter for MMDetection's own BFP: exact and exportable.

MMDetection's ``BFP.forward`` pools with ``F.adaptive_max_pool2d`` to sizes
read from the inputs. Neither torch exporter translates that when the sizes
are not constants or do not divide (open-mmlab/mmdeploy#2763, #1016), and
mmdeploy ships no rewriter for it. During export this rewriter runs the
same computation with the sizes taken as constants (static input shape):
max-pooling where they divide, slices and ``amax`` (exact adaptive max
pooling, ONNX ``ReduceMax``) where they do not, as this package's BFP does.
Stock ``mmdet::libra_rcnn`` configs then export with mmdeploy.
"""

from typing import Any, List, Tuple

import torch.nn.functional as F
from mmdeploy.core import FUNCTION_REWRITER
from torch import Tensor

from mmdet_libra_ext.models.layers import max_pool_to


@FUNCTION_REWRITER.register_rewriter(
    func_name='mmdet.models.necks.BFP.forward'
)
def bfp__forward(self: Any, inputs: Tuple[Tensor, ...]) -> Tuple[Tensor, ...]:
    """MMDetection's ``BFP.forward`` with export-safe adaptive pooling."""
    assert len(inputs) == self.num_levels
    gather_size = [int(v) for v in inputs[self.refine_level].shape[2:]]
    feats = []
    for i, x in enumerate(inputs):
        if i < self.refine_level:
            feats.append(max_pool_to(x, gather_size))
        else:
            feats.append(F.interpolate(x, size=gather_size, mode='nearest'))
    bsf = sum(feats[1:], feats[0]) / len(feats)  # MMDetection's sum(feats)
    if self.refine_type is not None:
        bsf = self.refine(bsf)
    outs: List[Tensor] = []
    for i, x in enumerate(inputs):
        out_size = [int(v) for v in x.shape[2:]]
        if i < self.refine_level:
            residual = F.interpolate(bsf, size=out_size, mode='nearest')
        else:
            residual = max_pool_to(bsf, out_size)
        outs.append(residual + x)
    return tuple(outs)
