# Libra Faster R-CNN on BCCD: the BCCD baseline with all three Libra
# components of this package (MMDetection's libra-faster-rcnn recipe):
# IoU-balanced negatives and instance-balanced positives in the RoI sampler
# (inherited from the sampling-only config), BFP after FPN, Balanced L1 loss
# in the RoI head. Data, schedule and evaluation are the baseline's.
_base_ = './libra-sampler-faster-rcnn_r18_fpn_bccd.py'

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
