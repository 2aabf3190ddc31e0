"""run_config: a finished run's config copy and the checkpoint it keeps."""

import pytest

from mmdet_libra_ext.analysis.work_dir import run_config


def test_the_best_checkpoint_where_kept_else_the_last(tmp_path):
    (tmp_path / 'my_config.py').write_text('x = 1\n')
    (tmp_path / 'iter_4.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_4.pth'))
    assert run_config(str(tmp_path)) == (
        str(tmp_path / 'my_config.py'),
        str(tmp_path / 'iter_4.pth'),
    )
    # save_best: the checkpoint chosen on validation, not the last one.
    (tmp_path / 'best_voc12_mAP_iter_2.pth').write_bytes(b'')
    assert run_config(str(tmp_path))[1] == str(
        tmp_path / 'best_voc12_mAP_iter_2.pth'
    )


def test_not_a_finished_run(tmp_path):
    with pytest.raises(FileNotFoundError, match='last_checkpoint'):
        run_config(str(tmp_path))
