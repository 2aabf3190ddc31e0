# ALWA (adaptive loss weight adjustment) on MMDetection's
# RetinaNet R-50-FPN, PASCAL VOC (MMDetection's 07+12 recipe; the paper trained
# on VOC2012 trainval at 1000x600, tested on VOC2007 test).
# The published defaults: window C = 100 iterations, sample standard
# deviation, statistics over the weighted losses, regression weight fixed.
_base_ = 'mmdet::pascal_voc/retinanet_r50_fpn_1x_voc0712.py'

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
