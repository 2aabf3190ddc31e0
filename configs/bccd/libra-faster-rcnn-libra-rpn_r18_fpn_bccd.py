# Libra Faster R-CNN on BCCD with a Libra RPN: the RPN also samples its
# anchors with instance-balanced positives and IoU-balanced negatives, half
# of the negatives from the zero-IoU floor (floor_fraction=0.5: the paper's
# balanced anchor sampling alone never takes far background and loses
# proposal recall, docs/libra_rpn.md), and regresses with Balanced L1
# (beta 0.11, as MMDetection's smooth L1 RPN loss).
_base_ = './libra-faster-rcnn_r18_fpn_bccd.py'

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
                    floor_fraction=0.5,
                    num_bins=3,
                    bin_range='negatives',
                ),
            )
        )
    ),
)
