"""A helper shared by the config tests."""

import copy


def without(cfg_dict, *paths):
    """A copy of a nested dict without the given dotted paths (where
    present)."""
    d = copy.deepcopy(cfg_dict)
    for path in paths:
        *parents, last = path.split('.')
        node = d
        for k in parents:
            node = node[k]
        node.pop(last, None)
    return d
