# The BCCD recipe's final training: the baseline of
# faster-rcnn_r18_fpn_bccd.py (chosen on val, docs/bccd.md) trained on
# trainval (train 205 + val 87 = 292 images) for the same number of
# iterations, so the same training time, and evaluated on test only
# (tools/test.py of MMDetection, with --tta for the recipe's four flips).
#
# Val is part of the training data here, so training evaluates nothing:
# no val_dataloader, val_cfg or val_evaluator (mmengine's way of training
# without validation). Nothing may be chosen with this config: choose on
# val with the train-split configs, then train this once per seed.
_base_ = './faster-rcnn_r18_fpn_bccd.py'

train_dataloader = dict(dataset=dict(ann_file='ImageSets/Main/trainval.txt'))
val_dataloader = None
val_cfg = None
val_evaluator = None

# 73 iterations of 4 images per epoch: 17 epochs are 1241 iterations, the
# baseline's 24 epochs of 52 (1248) on train.
max_epochs = 17
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        T_max=max_epochs,
        eta_min=1e-5,
    ),
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
