# Libra RetinaNet demo (MMDetection's libra-retinanet recipe, small): FPN
# from C3 with extra convs on the input, BFP refined at level 1 with a
# non-local block, our Focal loss and Balanced L1 with beta = 0.11.
# Data, schedule and hooks come from the Faster R-CNN demo; the model is
# RetinaNet (MMDetection's `retinanet_r50_fpn` settings, scaled down).
# `model.bbox_head.loss_bbox.mmdet_compat=True` switches Balanced L1 to
# MMDetection's beta formula (see README).
_base_ = './faster-rcnn_r18_fpn_shapes_demo.py'

num_channels = 128
model = dict(
    _delete_=True,
    type='RetinaNet',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32,
    ),
    backbone=dict(
        type='ResNet',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None,
    ),
    neck=[
        dict(
            type='FPN',
            in_channels=[64, 128, 256, 512],
            out_channels=num_channels,
            start_level=1,
            add_extra_convs='on_input',
            num_outs=5,
        ),
        dict(
            type='mmdet_libra_ext.BFP',
            in_channels=num_channels,
            num_levels=5,
            refine_level=1,
            refine_type='non_local',
        ),
    ],
    bbox_head=dict(
        type='RetinaHead',
        num_classes=4,
        in_channels=num_channels,
        stacked_convs=2,
        feat_channels=num_channels,
        # Anchors from 16 px at stride 8 (objects of 8..128 px).
        anchor_generator=dict(
            type='AnchorGenerator',
            octave_base_scale=2,
            scales_per_octave=3,
            ratios=[0.5, 1.0, 2.0],
            strides=[8, 16, 32, 64, 128],
        ),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0.0, 0.0, 0.0, 0.0],
            target_stds=[1.0, 1.0, 1.0, 1.0],
        ),
        loss_cls=dict(
            type='mmdet_libra_ext.FocalLoss',
            use_sigmoid=True,
            gamma=2.0,
            alpha=0.25,
            loss_weight=1.0,
        ),
        loss_bbox=dict(
            type='mmdet_libra_ext.BalancedL1Loss',
            alpha=0.5,
            gamma=1.5,
            beta=0.11,
            loss_weight=1.0,
        ),
    ),
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.4,
            min_pos_iou=0,
            ignore_iof_thr=-1,
        ),
        sampler=dict(type='PseudoSampler'),
        allowed_border=-1,
        pos_weight=-1,
        debug=False,
    ),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=100,
    ),
)

# Five epochs (the Faster R-CNN demos train eight): a RetinaNet iteration
# costs less but the dense head converges sooner on this data.
max_epochs = 5
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
