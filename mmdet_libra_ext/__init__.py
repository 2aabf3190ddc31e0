"""mmdet_libra_ext: balanced-learning components for MMDetection 3.x.

Import it from a config with::

    custom_imports = dict(imports=['mmdet_libra_ext'],
                          allow_failed_imports=False)

and name its modules with the scope prefix, e.g.
``type='mmdet_libra_ext.BalancedL1Loss'``. Importing it registers this
package's modules only: the mmdeploy rewriters of MMDetection's own modules
are switched on explicitly (:mod:`mmdet_libra_ext.deploy`).
"""

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

__all__ = ['__version__']
