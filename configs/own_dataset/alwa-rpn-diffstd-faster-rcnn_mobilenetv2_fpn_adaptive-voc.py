# ALWA as the lab found it loses nothing (docs/alwa.md): the RPN's pair
# only, as the authors' code, with statistic 'diff_std' (the noise of the
# losses, not their trend), window 20, on
# faster-rcnn_mobilenetv2_fpn_adaptive-voc.py. Change data_root and
# classes.
_base_ = './faster-rcnn_mobilenetv2_fpn_adaptive-voc.py'

data_root = 'data/my_dataset/'
classes = ('object',)
metainfo = dict(classes=classes)
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))

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
