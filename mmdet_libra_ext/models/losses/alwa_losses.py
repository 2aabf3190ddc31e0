"""The loss side of ALWA: which (cls, reg) pairs of a detector's losses it
balances, a loss entry's total, the weighted entry and the log names."""

from typing import List, Optional, Sequence, Tuple, Union, cast

from torch import Tensor

#: Pairs tried when ``pairs`` is not given: the RPN and the RoI head of a
#: two-stage detector, or the head of a one-stage detector.
DEFAULT_PAIRS = (('loss_rpn_cls', 'loss_rpn_bbox'), ('loss_cls', 'loss_bbox'))


def loss_total(value: Union[Tensor, List[Tensor]]) -> Tensor:
    """A loss entry as one detached float32 scalar (sum over FPN levels;
    losses of other dtypes, e.g. float64 or bfloat16, are stacked with the
    rest)."""
    if isinstance(value, Tensor):
        return value.detach().sum().float()
    return cast(Tensor, sum(v.detach().sum().float() for v in value))


def log_name(loss_key: str, what: str) -> str:
    """Log name of a loss key's weight or raw value, without 'loss' (keys
    with 'loss' are summed into the total loss by ``parse_losses``)."""
    name = loss_key.replace('loss_', '').replace('loss', 'l')
    return f'alwa_{name}_{what}'


def scaled(
    value: Union[Tensor, List[Tensor]], weight: Union[float, Tensor]
) -> Union[Tensor, List[Tensor]]:
    """A loss entry (a tensor or one per FPN level) times ``weight``."""
    if isinstance(value, Tensor):
        return value * weight
    return [v * weight for v in value]


def resolve_pairs(
    pairs: Optional[Sequence[Tuple[str, str]]], losses: dict
) -> List[Tuple[str, str]]:
    """``pairs``, or those of :data:`DEFAULT_PAIRS` in ``losses``; every key
    must be among the model's losses (a ValueError names the one that is
    not)."""
    if pairs is None:
        pairs = [p for p in DEFAULT_PAIRS if p[0] in losses and p[1] in losses]
        if not pairs:
            raise ValueError(
                f'ALWAHook found none of the default loss pairs '
                f"{list(DEFAULT_PAIRS)} in the model's losses "
                f'{sorted(losses)}; set pairs=[(cls_key, reg_key)]'
            )
    for cls_key, reg_key in pairs:
        for key in (cls_key, reg_key):
            if key not in losses:
                raise ValueError(
                    f'ALWAHook: loss key {key!r} is not among the '
                    f"model's losses {sorted(losses)}"
                )
    return list(pairs)
