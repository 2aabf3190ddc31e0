import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


#: What travels as mmdet_libra_ext/.mim/<name> (OpenMMLab layout: what
#: `mim` looks for): the configs, and the user commands of tools/ that
#: `mim run mmdet_libra_ext <tool>` runs.
MIM_FOLDERS = ('configs', 'tools')


def add_mim_extension():
    """Ship configs/ and tools/ as mmdet_libra_ext/.mim/{configs,tools}.

    An editable install links the folders (edits are seen at once); a
    regular build copies them into the wheel (tools/: its Python commands).
    """
    editable = any(cmd in sys.argv for cmd in ('develop', 'editable_wheel'))
    dst_dir = osp.join(HERE, 'mmdet_libra_ext', '.mim')
    for name in MIM_FOLDERS:
        src = osp.join(HERE, name)
        dst = osp.join(dst_dir, name)
        if not osp.isdir(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        os.makedirs(dst_dir, exist_ok=True)
        if editable:
            try:
                os.symlink(
                    osp.relpath(src, dst_dir), dst, target_is_directory=True
                )
                continue
            except OSError:
                pass
        shutil.copytree(
            src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc')
        )


def read_version():
    namespace = {}
    with open(osp.join(HERE, 'mmdet_libra_ext', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def read_readme():
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


add_mim_extension()

setup(
    name='mmdet_libra_ext',
    version=read_version(),
    description='Balanced-learning toolbox for MMDetection 3.x: Libra R-CNN '
    '(IoU-balanced sampling, Balanced Feature Pyramid, Balanced L1 loss), '
    'Focal loss and ALWA adaptive loss weights.',
    long_description=read_readme(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(
        exclude=(
            'tests',
            'tests.*',
            'benchmarks',
            'benchmarks.*',
            'experiments',
            'experiments.*',
            'tools',
        )
    ),
    # The configs and tools travel with the package (mmdet_libra_ext/.mim is
    # what `mim` looks for; the repository's configs/ and tools/ stay the
    # source).
    package_data={
        'mmdet_libra_ext': [
            '.mim/configs/**/*.py',
            '.mim/tools/**/*.py',
            'analysis/balance_reference.json',
        ]
    },
    include_package_data=True,
    # Exactly the tested range (docs/compatibility.md, .dev_scripts/stacks.sh;
    # tests/test_stacks.py holds this list to that table): the lowest
    # versions that passed every check. Upper bounds only where a break is
    # known: mmdet 3.x refuses mmcv >= 2.2 and mmengine >= 1.0. A GPU user
    # brings their own torch and mmcv builds; the exact CPU pins live in
    # tools/install.sh.
    python_requires='>=3.10,<3.13',
    install_requires=[
        'torch>=2.0.1',
        'numpy>=1.24.4',
        'mmengine>=0.7.4,<1.0.0',
        'mmcv>=2.0.1,<2.2.0',
        'mmdet>=3.0.0,<3.4.0',
    ],
    extras_require={
        'tests': [
            'pytest>=7',
            'pytest-xdist',
            'pycocotools',
            'matplotlib',
            'openmim',
            # property tests, lint and format (pinned: the rules must not
            # change under CI), types
            # (the derandomized examples change with the version; 6.170
            # needs Python >= 3.11)
            'hypothesis==6.170.17; python_version >= "3.11"',
            'hypothesis==6.168.5; python_version < "3.11"',
            'ruff==0.17.6',
            'mypy',
        ],
        'plot': ['matplotlib'],
        # ONNX export of BFP (both torch exporters), onnxruntime checks, and
        # what mmdeploy 1.3.1 imports: mmdeploy itself is installed with
        # `pip install --no-deps mmdeploy==1.3.1` (tools/install.sh), since
        # its protobuf<=3.20.2 pin conflicts with current onnx.
        'deploy': [
            'onnx',
            'onnxruntime',
            'onnxscript',
            'aenum',
            'dill',
            'multiprocess',
            'prettytable',
            'terminaltables',
        ],
    },
    zip_safe=False,
    classifiers=[
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3.10',
        'Programming Language :: Python :: 3.11',
        'Programming Language :: Python :: 3.12',
        'License :: OSI Approved :: Apache Software License',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
