# ALWA (mmdet_libra_ext.ALWAHook: the classification and regression loss
# weights adapted from the losses' statistics) with its published rule on
# retinanet_mobilenetv2_fpn_adaptive-voc.py: every pair of the detector's
# losses, statistic 'std' over a window of 20 iterations (the paper's 100
# scaled to the recipe's 1000 iterations, as the BCCD and demo configs).
# Change data_root and classes.
_base_ = './retinanet_mobilenetv2_fpn_adaptive-voc.py'

data_root = 'data/my_dataset/'
classes = ('object',)
metainfo = dict(classes=classes)
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))

custom_hooks = [
    dict(type='mmdet_libra_ext.WeightsOnlyCheckpointHook'),
    dict(type='mmdet_libra_ext.ALWAHook', interval=20),
    dict(type='mmdet_libra_ext.ResumableRandomnessHook'),
]
