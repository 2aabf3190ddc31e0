from .checkpoint import (check_weights_only_loadable, from_weights_only,
                         to_weights_only, unsafe_globals)

__all__ = [
    'check_weights_only_loadable', 'from_weights_only', 'to_weights_only',
    'unsafe_globals'
]
