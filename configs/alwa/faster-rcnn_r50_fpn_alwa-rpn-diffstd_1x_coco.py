# ALWA on MMDetection's Faster R-CNN R-50-FPN, COCO 1x, in the setting that
# does not lose accuracy in this package's evidence (docs/transfer.md):
# - the RPN's classification weight only, as the authors' code applies ALWA
#   to Faster R-CNN (its RoI head ignores the ALWA arguments);
# - statistic='diff_std': the spread of a window's successive differences,
#   the loss's noise without its downward trend. With the published
#   standard deviation the first window measures how fast the
#   classification loss falls, and the weight drops to 0.04 - 0.08 for
#   good.
# Everything else is the published algorithm (window C = 100, statistics
# over the weighted losses, regression weight fixed).
_base_ = './faster-rcnn_r50_fpn_alwa_1x_coco.py'

custom_hooks = [
    dict(type='mmdet_libra_ext.WeightsOnlyCheckpointHook'),
    dict(
        type='mmdet_libra_ext.ALWAHook',
        interval=100,
        statistic='diff_std',
        pairs=[('loss_rpn_cls', 'loss_rpn_bbox')],
    ),
]
