"""Datasets: the embedded ``shapes`` dataset generator lives in
:mod:`mmdet_libra_ext.datasets.make_shapes` (run it with ``python -m``)."""
