# ALWA on top of Libra Faster R-CNN R-50-FPN 1x COCO (this package's Libra
# components): the RPN and the RoI head each get an adaptive weight.
_base_ = '../libra_rcnn/libra-faster-rcnn_r50_fpn_1x_coco.py'

custom_hooks = [
    dict(type='mmdet_libra_ext.WeightsOnlyCheckpointHook'),
    dict(type='mmdet_libra_ext.ALWAHook', interval=100, statistic='std'),
]
# Checkpoints and last_checkpoint written atomically: a run killed while
# saving never leaves --resume a truncated or deleted file.
default_hooks = dict(
    checkpoint=dict(type='mmdet_libra_ext.AtomicCheckpointHook')
)
