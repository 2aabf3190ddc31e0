# Libra Faster R-CNN demo: the baseline demo with all three Libra components
# of this package (the recipe of MMDetection's libra-faster-rcnn config):
# IoU-balanced negatives + instance-balanced positives in the RoI sampler
# (inherited from the sampling-only demo), BFP neck after FPN, Balanced L1
# loss in the RoI head.
_base_ = './libra-sampler-faster-rcnn_r18_fpn_shapes_demo.py'

num_channels = 64
model = dict(
    neck=[
        dict(
            type='FPN',
            in_channels=[32, 64, 128, 256],
            out_channels=num_channels,
            num_outs=5,
        ),
        dict(
            type='mmdet_libra_ext.BFP',
            in_channels=num_channels,
            num_levels=5,
            refine_level=2,
            refine_type='non_local',
        ),
    ],
    roi_head=dict(
        bbox_head=dict(
            loss_bbox=dict(
                _delete_=True,
                type='mmdet_libra_ext.BalancedL1Loss',
                alpha=0.5,
                gamma=1.5,
                beta=1.0,
                loss_weight=1.0,
            )
        )
    ),
)
