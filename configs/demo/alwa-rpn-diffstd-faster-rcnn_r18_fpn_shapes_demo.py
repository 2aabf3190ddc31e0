# ALWA on the baseline Faster R-CNN demo in the setting that does not lose
# accuracy in this package's evidence (docs/transfer.md): the RPN's
# classification weight only, as the authors' code applies ALWA to Faster
# R-CNN, from the trend-free statistic 'diff_std'. Window 20 iterations,
# as in ./alwa-faster-rcnn_r18_fpn_shapes_demo.py.
_base_ = './faster-rcnn_r18_fpn_shapes_demo.py'

custom_hooks = [
    dict(type='mmdet_libra_ext.WeightsOnlyCheckpointHook'),
    dict(
        type='mmdet_libra_ext.ALWAHook',
        interval=20,
        statistic='diff_std',
        pairs=[('loss_rpn_cls', 'loss_rpn_bbox')],
    ),
    dict(type='mmdet_libra_ext.ResumableRandomnessHook'),
]
