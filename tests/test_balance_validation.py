"""experiments/balance_validation.py: the gains it sets beside the readings
are the paired differences of the results store, and its table prints
them."""

import pytest

from experiments import balance_validation as V


def test_gain_is_the_mean_paired_difference():
    results = [
        dict(variant='base', seed=0, bbox_mAP=0.20),
        dict(variant='base', seed=1, bbox_mAP=0.22),
        dict(variant='base', seed=2, bbox_mAP=0.30),
        dict(variant='x', seed=0, bbox_mAP=0.25),
        dict(variant='x', seed=1, bbox_mAP=0.24),
        # seed 2 of 'base' has no pair; seed 3 of 'x' neither.
        dict(variant='x', seed=3, bbox_mAP=0.90),
    ]
    g = V.gain(results, 'x', 'base')
    assert g['seeds'] == 2
    assert g['mean'] == pytest.approx((0.05 + 0.02) / 2)
    assert 0 < g['p'] < 1


def test_table_prints_each_reading_with_its_gain():
    ref = dict(
        datasets={
            'd': dict(
                readings=dict(room_to_balance=0.3, cls_reg_ratio=5.0),
                gain_detail=dict(
                    sampling=dict(mean=0.05, seeds=3, p=0.0312),
                    libra=dict(mean=-0.01, seeds=5, p=0.0004),
                ),
            )
        }
    )
    text = V.table(ref)
    assert '| d | 0.300 (+0.050, 3 seeds, p = 0.03) |' in text
    assert text.rstrip().endswith('-0.010, 5 seeds, p < 0.001 |')
    assert 'n/a' in text  # the readings the dataset lacks


def test_the_reference_file_names_the_datasets():
    from mmdet_libra_ext.analysis.balance_summary import load_reference

    ref = load_reference()
    assert set(ref['datasets']) == set(V.DATASETS)
    for name, spec in V.DATASETS.items():
        assert set(ref['datasets'][name]['gains']) == set(spec['gains'])


def test_a_variant_without_paired_rows_has_no_gain_yet():
    results = [
        dict(variant='base', seed=0, bbox_mAP=0.20),
        dict(variant='x', seed=1, bbox_mAP=0.25),
    ]
    assert V.gain(results, 'x', 'base') is None
    assert V.gain(results, 'y', 'base') is None
    ref = dict(
        datasets={
            'd': dict(
                readings=dict(room_to_balance=0.3),
                gain_detail=dict(sampling=None, libra=None),
            )
        }
    )
    assert V.table(ref).splitlines()[-1].startswith('| d | 0.300 | n/a |')
    assert V.table(ref).rstrip().endswith('| - |')


def test_the_fine_tuned_rows_name_the_labs_variants():
    """Each fine-tuned dataset reads a lab variant and sets beside it the
    gains of variants the lab runs (experiments/plans.py)."""
    from experiments.plans import PLANS, VARIANTS

    planned = {v for stage in PLANS['pretrained-methods'] for v, *_ in stage}
    fine = {n: s for n, s in V.DATASETS.items() if 'variant' in s}
    assert len(fine) == 3
    for spec in fine.values():
        assert spec['variant'] in VARIANTS
        assert spec['baseline'] == spec['variant']
        assert set(spec['gains'].values()) <= planned
