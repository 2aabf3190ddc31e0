# ALWA (adaptive loss weight adjustment) on MMDetection's
# Faster R-CNN R-50-FPN, COCO 1x. The RPN and the RoI head each get their own
# weight.
# The published defaults: window C = 100 iterations, sample standard
# deviation, statistics over the weighted losses, regression weight fixed.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmdet_libra_ext'], allow_failed_imports=False)
custom_hooks = [
    dict(type='mmdet_libra_ext.WeightsOnlyCheckpointHook'),
    dict(type='mmdet_libra_ext.ALWAHook', interval=100, statistic='std'),
]
# Checkpoints and last_checkpoint written atomically: a run killed while
# saving never leaves --resume a truncated or deleted file.
default_hooks = dict(
    checkpoint=dict(type='mmdet_libra_ext.AtomicCheckpointHook')
)
