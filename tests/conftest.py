import os
import os.path as osp

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (derandomized, no
# example database), so CI is reproducible; HYPOTHESIS_PROFILE=random
# searches afresh (docs/testing.md).
settings.register_profile('ci', derandomize=True, database=None)
settings.register_profile('random', derandomize=False)
settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'ci'))

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='session')
def shapes_root(tmp_path_factory):
    """A small copy of the embedded dataset (32 train, 8 val images)."""
    from mmdet_libra_ext.datasets.make_shapes import make_shapes

    out = str(tmp_path_factory.mktemp('shapes'))
    make_shapes(out, num_train=32, num_val=8, seed=0)
    return out + os.sep


@pytest.fixture(scope='session')
def mmdet_tools():
    import mmdet

    return osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools')


@pytest.fixture(scope='session')
def crowded_root(tmp_path_factory):
    """A small copy of the crowded dataset (16 train, 4 val images)."""
    from mmdet_libra_ext.datasets.make_shapes import make_shapes

    out = str(tmp_path_factory.mktemp('crowded'))
    make_shapes(out, num_train=16, num_val=4, seed=0, variant='crowded')
    return out + os.sep
