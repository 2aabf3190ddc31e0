# ALWA on the Faster R-CNN transfer recipe, with the published
# algorithm (sample standard deviation over a window, weighted statistics,
# no bounds, no warm-up). The window is scaled with the schedule: the paper
# uses C = 100 for COCO's 90k iterations; the recipe trains 456
# iterations, and C = 40 gives 11 weight updates.
_base_ = './faster-rcnn_r18_fpn_crowded-transfer.py'

custom_hooks = [
    dict(type='mmdet_libra_ext.WeightsOnlyCheckpointHook'),
    dict(type='mmdet_libra_ext.ALWAHook', interval=40),
    dict(type='mmdet_libra_ext.ResumableRandomnessHook'),
]
