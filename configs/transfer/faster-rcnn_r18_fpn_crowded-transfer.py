# Transfer recipe: the papers' regime at demo scale. The demo Faster R-CNN
# (half-width ResNet-18 FPN) fine-tuned from a pretrained backbone on the
# embedded `crowded` dataset, with MMDetection's COCO habits:
# - backbone pretrained by `python -m experiments.pretrain_backbone` (detection on
#   the `shapes` dataset: other classes, larger and fewer objects), loaded
#   with init_cfg=Pretrained; stem and stage 1 frozen, BatchNorm frozen
#   (frozen_stages=1, requires_grad=False, norm_eval=True), as the COCO
#   recipes freeze them;
# - SGD, momentum 0.9, weight decay 1e-4, lr 0.01 (COCO's 0.02 for 16
#   images, linearly scaled to 8), linear warm-up over 50 iterations, lr x0.1
#   after epochs 8 and 11 of 12 (2/3 and 11/12 of the schedule);
# - anchors of 8..128 px (scales=[2]) for objects of 5..40 px.
# Data: `python -m mmdet_libra_ext.datasets.make_shapes data/crowded
# --variant crowded` (300 training images of 12-40 objects, 100 val).
# 12 epochs are 456 iterations of 8 images.
_base_ = '../demo/faster-rcnn_r18_fpn_shapes_demo.py'

data_root = 'data/crowded/'
classes = ('star', 'diamond', 'bar', 'hexagon', 'arrow')
metainfo = dict(classes=classes)
pretrained = 'data/pretrained/r18-half_shapes.pth'

model = dict(
    backbone=dict(
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint=pretrained,
            prefix='backbone.',
        ),
    ),
    rpn_head=dict(anchor_generator=dict(scales=[2])),
    roi_head=dict(bbox_head=dict(num_classes=len(classes))),
)

train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(
        type='MultiStepLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        milestones=[8, 11],
        gamma=0.1,
    ),
]
