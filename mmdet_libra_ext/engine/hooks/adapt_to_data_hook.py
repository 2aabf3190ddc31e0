"""The name of the hook that fitted a run to its data at run time (versions
up to 0.2): kept so that a config or checkpoint it wrote is refused with the
way to carry on, instead of training or testing without its choices."""

from mmengine.hooks import Hook

from mmdet_libra_ext.registry import HOOKS
from mmdet_libra_ext.utils.checkpoint import LEGACY_FIT_MESSAGE

MESSAGE = (
    'mmdet_libra_ext.AdaptToDataHook was replaced by a config that '
    '`python tools/analysis_tools/fit_to_data.py CONFIG` writes (train, '
    'test or deploy that config, without the hook); for a checkpoint the '
    'hook trained, ' + LEGACY_FIT_MESSAGE
)


@HOOKS.register_module()
class AdaptToDataHook(Hook):
    """Refuses to be built, saying how to carry on (see :data:`MESSAGE`).

    Args:
        **kwargs: The options of the former hook; ignored.

    Raises:
        RuntimeError: Always.
    """

    def __init__(self, **kwargs: object) -> None:
        raise RuntimeError(MESSAGE)
