"""Model components: losses, necks and test-time augmentation."""

from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .test_time_augs import *  # noqa: F401,F403
