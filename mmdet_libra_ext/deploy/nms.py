"""The selection step after ONNX ``NonMaxSuppression``, for this package's
rewriters: the ``k`` best selected boxes of every image, padded with
zero-score rows so that ``TopK`` never asks for more rows than there are
(ONNX Runtime refuses ``k`` larger than its input)."""

from typing import Tuple

import torch
from torch import Tensor

#: NMS output bound for the rewriters: every candidate (MMDetection keeps
#: all that survive before its own top-k).
MAX_CANDIDATES = 10**7


def top_k_selected(
    scores: Tensor, boxes: Tensor, selected: Tensor, batch: int, k: int
) -> Tuple[Tensor, Tensor]:
    """``(dets (B, k, 5), labels (B, k))`` from NMS output.

    Args:
        scores: ``(B, C, N)`` scores the NMS ran on.
        boxes: ``(B, N, 4)`` boxes to return (need not be the ones the NMS
            compared: offset boxes in, plain boxes out).
        selected: ``(S, 3)`` rows ``(batch, class, box)`` of ONNX
            ``NonMaxSuppression``.
        batch: ``B``.
        k: rows kept per image, best score first; rows beyond the selected
            boxes have score 0 and label 0.
    """
    b, c, i = selected[:, 0], selected[:, 1], selected[:, 2]
    dets = torch.cat([boxes[b, i], scores[b, c, i].unsqueeze(1)], 1)
    mine = b.unsqueeze(0) == torch.arange(batch, dtype=b.dtype).unsqueeze(1)
    dets = dets.unsqueeze(0).repeat(batch, 1, 1) * mine.unsqueeze(-1)
    labels = torch.where(mine, c.unsqueeze(0), torch.zeros_like(c))
    dets = torch.cat([dets, dets.new_zeros(batch, k, 5)], 1)
    labels = torch.cat([labels, labels.new_zeros(batch, k)], 1)
    top = dets[:, :, 4].topk(k, dim=1).indices
    rows = torch.arange(batch).view(-1, 1)
    return dets[rows, top], labels[rows, top]
