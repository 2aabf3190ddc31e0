# faster-rcnn_mobilenetv2_fpn_adaptive-voc.py with an exponential moving
# average of the weights (mmengine's EMAHook with MMDetection's
# ExpMomentumEMA, as MMDetection's RTMDet and YOLOX recipes keep one):
# validation, the best checkpoint, testing and inference use the averaged
# weights. The average spans about 200 iterations (momentum 0.005: one
# validation interval of the recipe's 1000 iterations), after a warm-up of
# 100 iterations (gamma) in which it follows the weights closely. Change
# data_root and classes (docs/own_dataset.md, where its evidence is).
# After a training resumed with --resume, test with the config you trained
# (the work dir's copy says resume = True) or add --cfg-options
# resume=False: resuming, mmengine's EMAHook tests the initial weights
# under --tta.
_base_ = './faster-rcnn_mobilenetv2_fpn_adaptive-voc.py'

data_root = 'data/my_dataset/'
classes = ('object',)
metainfo = dict(classes=classes)
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))

custom_hooks = [
    dict(type='mmdet_libra_ext.WeightsOnlyCheckpointHook'),
    dict(type='mmdet_libra_ext.ResumableRandomnessHook'),
    dict(
        type='EMAHook',
        ema_type='ExpMomentumEMA',
        momentum=0.005,
        gamma=100,
        update_buffers=True,
        priority=49,
    ),
]
