# ALWA on the Libra RetinaNet demo (one adaptive weight for the head's
# classification loss). The demo trains about 285 iterations, so the
# window is 20 iterations instead of the paper's 100.
_base_ = './libra-retinanet_r18_fpn_shapes_demo.py'

custom_hooks = [
    dict(type='mmdet_libra_ext.WeightsOnlyCheckpointHook'),
    dict(type='mmdet_libra_ext.ALWAHook', interval=20),
    dict(type='mmdet_libra_ext.ResumableRandomnessHook'),
]
