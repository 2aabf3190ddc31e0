# The BCCD baseline with the shipped ALWA setting (configs/alwa/
# *alwa-rpn-diffstd*): the RPN's classification/regression pair only,
# its weight from the spread of the loss's iteration-to-iteration
# differences (statistic='diff_std'), a window every 20 iterations.
_base_ = './faster-rcnn_r18_fpn_bccd.py'

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
