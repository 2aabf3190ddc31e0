# faster-rcnn_mobilenetv2_fpn_adaptive-voc.py with MMDetection's own
# ImageNet ResNet-50 (torchvision://resnet50, as its faster-rcnn_r50_fpn
# configs, 256-channel FPN), for users who want the larger backbone. Not
# measured here: docs/own_dataset.md's figures are the MobileNetV2's.
# An iteration costs several times the MobileNetV2's. Offline:
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
# (torchvision's resnet50 weights file). Change data_root and classes.
_base_ = './faster-rcnn_mobilenetv2_fpn_adaptive-voc.py'

data_root = 'data/my_dataset/'
classes = ('object',)
metainfo = dict(classes=classes)
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))

pretrained = 'torchvision://resnet50'
# MMDetection's ResNet-50 of faster-rcnn_r50_fpn (stem and first stage
# frozen, BatchNorm in eval mode).
backbone = dict(
    type='ResNet',
    depth=50,
    num_stages=4,
    out_indices=(0, 1, 2, 3),
    frozen_stages=1,
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=True,
    style='pytorch',
    init_cfg=dict(type='Pretrained', checkpoint=pretrained),
)
backbone_channels = [256, 512, 1024, 2048]
num_channels = 256
model = dict(
    backbone=dict(_delete_=True, **backbone),
    neck=dict(in_channels=backbone_channels, out_channels=num_channels),
    rpn_head=dict(in_channels=num_channels, feat_channels=num_channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=num_channels),
        bbox_head=dict(in_channels=num_channels, num_classes=len(classes)),
    ),
)
