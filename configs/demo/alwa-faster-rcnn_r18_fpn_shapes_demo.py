# ALWA on the baseline Faster R-CNN demo: the RPN and the RoI head each get
# an adaptive classification weight. The demo trains about 450 iterations,
# so the window is 20 iterations instead of the paper's 100.
_base_ = './faster-rcnn_r18_fpn_shapes_demo.py'

custom_hooks = [
    dict(type='mmdet_libra_ext.WeightsOnlyCheckpointHook'),
    dict(type='mmdet_libra_ext.ALWAHook', interval=20),
    dict(type='mmdet_libra_ext.ResumableRandomnessHook'),
]
