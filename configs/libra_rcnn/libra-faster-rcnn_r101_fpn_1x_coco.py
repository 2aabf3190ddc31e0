# Libra Faster R-CNN R-101-FPN 1x COCO (MMDetection's stock variant).
_base_ = './libra-faster-rcnn_r50_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101'),
    )
)
