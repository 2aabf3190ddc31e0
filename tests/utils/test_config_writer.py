"""config_changes and child_config_text: the written child config, loaded
by mmengine over its base, is the intended config, comments included."""

import pytest

from mmdet_libra_ext.utils.config_writer import (
    add_comment,
    child_config_text,
    config_changes,
    config_dicts,
)

BASE = dict(
    model=dict(
        type='FasterRCNN',
        rpn_head=dict(anchor_generator=dict(scales=[8], ratios=[0.5, 1.0])),
        test_cfg=dict(rpn=dict(nms_pre=500), rcnn=dict(max_per_img=100)),
    ),
    pipeline=[dict(type='Resize', scale=(1333, 800)), dict(type='Pack')],
    img_scale=(1333, 800),
    loss=None,
    names=('a', 'b'),
)


def _write(tmp_path, new, comments=None):
    from mmengine.config import Config

    (tmp_path / 'base.py').write_text(
        ''.join(f'{k} = {v!r}\n' for k, v in BASE.items())
    )
    changes = config_changes(BASE, new)
    text = child_config_text('./base.py', changes, comments or {}, 'head')
    (tmp_path / 'child.py').write_text(text)
    return Config.fromfile(str(tmp_path / 'child.py')), text, changes


def test_unchanged_keys_are_left_out_and_the_merge_gives_the_new_config(
    tmp_path,
):
    import copy

    new = copy.deepcopy(BASE)
    new['model']['test_cfg']['rcnn']['max_per_img'] = 615
    new['pipeline'][0] = dict(type='Resize', scale_factor=1.5)
    new['loss'] = dict(type='L1Loss')  # a dict where the base has None
    new['fitted_to_data'] = {'rpn_head': 1, 'a key': 0.5}
    cfg, text, changes = _write(
        tmp_path, new, {('model', 'test_cfg'): 'caps\nraised'}
    )
    assert cfg.to_dict() == new
    # Only what changed, lists whole, the replaced dict with _delete_.
    assert set(changes) == {'model', 'pipeline', 'loss', 'fitted_to_data'}
    assert changes['model'] == {'test_cfg': {'rcnn': {'max_per_img': 615}}}
    assert changes['loss'] == {'_delete_': True, 'type': 'L1Loss'}
    assert text.startswith("# head\n_base_ = './base.py'\n")
    assert '    # caps\n    # raised\n    test_cfg=dict(' in text
    assert "'a key': 0.5" in text  # not a name: a dict literal


def test_a_dict_that_loses_a_key_replaces_the_base_s(tmp_path):
    import copy

    new = copy.deepcopy(BASE)
    del new['model']['test_cfg']['rpn']
    cfg, _, changes = _write(tmp_path, new)
    assert cfg.to_dict() == new
    assert changes['model']['test_cfg']['_delete_'] is True


def test_what_a_child_cannot_express_is_refused():
    with pytest.raises(ValueError, match=r"\['img_scale'\]"):
        config_changes(
            BASE, {k: v for k, v in BASE.items() if k != 'img_scale'}
        )
    with pytest.raises(ValueError, match="'not a name'"):
        child_config_text('b.py', {'not a name': 1})
    with pytest.raises(TypeError, match='cannot hold'):
        child_config_text('b.py', {'x': object()})


def test_config_dicts_reach_every_dict_before_what_it_holds():
    """Nested dicts, lists and tuples (a test-time augmentation's lists
    of transforms) are all reached, a dict before its contents, so that
    a change made to one as it comes is seen below it."""
    from mmengine.config import ConfigDict

    cfg = dict(
        model=ConfigDict(head=dict(type='H')),
        tta=[dict(type='TTA', transforms=[[dict(type='Resize')]])],
        names=('a', dict(type='T')),
        n=3,
    )
    types = [d.get('type') for d in config_dicts(cfg)]
    assert types == [None, None, 'H', 'TTA', 'Resize', 'T']
    for d in config_dicts(cfg):
        if d.get('type') == 'TTA':
            d['transforms'] = [dict(type='Flip')]
    assert 'Flip' in [d.get('type') for d in config_dicts(cfg)]
    assert 'Resize' not in [d.get('type') for d in config_dicts(cfg)]


def test_add_comment_appends_to_what_is_said():
    comments = {('a',): 'First.'}
    add_comment(comments, ('a',), 'Second.')
    add_comment(comments, ('b',), 'Only.')
    assert comments == {('a',): 'First. Second.', ('b',): 'Only.'}
