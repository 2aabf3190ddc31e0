# The Libra Faster R-CNN demo whose RPN is a Libra RPN too: balanced anchor
# sampling (bin_range='negatives') and Balanced L1 with beta 0.11 on the RPN
# regression, as in the Libra RPN demo; BFP is already the shared neck. The
# released Libra recipe balances the second stage only.
_base_ = './libra-faster-rcnn_r18_fpn_shapes_demo.py'

model = dict(
    rpn_head=dict(
        loss_bbox=dict(
            type='mmdet_libra_ext.BalancedL1Loss',
            alpha=0.5,
            gamma=1.5,
            beta=0.11,
        )
    ),
    train_cfg=dict(
        rpn=dict(
            sampler=dict(
                type='CombinedSampler',
                pos_sampler=dict(
                    type='mmdet_libra_ext.InstanceBalancedPosSampler'
                ),
                neg_sampler=dict(
                    type='mmdet_libra_ext.IoUBalancedNegSampler',
                    floor_thr=-1,
                    floor_fraction=0,
                    num_bins=3,
                    bin_range='negatives',
                ),
            )
        )
    ),
)
