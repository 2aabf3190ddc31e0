# Reference for the evidence table and the end-to-end speed benchmark: the
# Libra Faster R-CNN demo with MMDetection's own built-in Libra components
# (mmdet's BFP, IoUBalancedNegSampler, InstanceBalancedPosSampler and
# BalancedL1Loss) in place of this package's. Everything else is identical.
_base_ = './libra-faster-rcnn_r18_fpn_shapes_demo.py'

num_channels = 64
model = dict(
    # A list replaces the inherited one as a whole: both necks in full.
    neck=[
        dict(
            type='FPN',
            in_channels=[32, 64, 128, 256],
            out_channels=num_channels,
            num_outs=5,
        ),
        dict(
            type='BFP',
            in_channels=num_channels,
            num_levels=5,
            refine_level=2,
            refine_type='non_local',
        ),
    ],
    roi_head=dict(bbox_head=dict(loss_bbox=dict(type='BalancedL1Loss'))),
    train_cfg=dict(
        rcnn=dict(
            sampler=dict(
                pos_sampler=dict(type='InstanceBalancedPosSampler'),
                neg_sampler=dict(type='IoUBalancedNegSampler'),
            )
        )
    ),
)
