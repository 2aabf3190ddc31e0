"""mmdet_libra_ext: balanced-learning components for MMDetection 3.x.

Import it from a config with::

    custom_imports = dict(imports=['mmdet_libra_ext'],
                          allow_failed_imports=False)

and name its modules with the scope prefix, e.g.
``type='mmdet_libra_ext.BalancedL1Loss'``.
"""

import importlib.util
import warnings

from . import (  # noqa: F401,E402
    datasets,
    engine,
    evaluation,
    models,
    registry,  # noqa: F401,E402
    task_modules,
)
from .utils import weights_only as _weights_only  # noqa: F401 (safe load)
from .version import __version__

if importlib.util.find_spec('mmdeploy') is not None:
    # Rewriters for mmdeploy (e.g. MMDetection's BFP), registered for its
    # tools and ours.
    try:
        from . import deploy  # noqa: F401
    except ImportError as err:  # a broken mmdeploy must not break training
        warnings.warn(
            f'mmdeploy is installed but does not import ({err}); '
            f'the export rewriters of mmdet_libra_ext are off',
            stacklevel=2,
        )

__all__ = ['__version__']
