# Libra Faster R-CNN R-50-FPN 1x COCO whose RPN is a Libra RPN too. The
# released Libra Faster R-CNN balances the second stage only (its RPN keeps
# random anchor sampling and SmoothL1); the paper also balances the RPN.
# Here the RPN gets what the Libra RPN config applies to it
# (./libra-rpn_r50_fpn_1x_coco.py explains each choice): Balanced L1 with
# beta = 0.11 on the RPN regression and IoU-/instance-balanced anchor
# sampling with bin_range='negatives'. BFP is already the shared neck.
# On the demo (docs/libra_rpn.md) this RPN gains box mAP only with half of
# its negatives from the zero-IoU background, which the paper's sampling
# skips: model.train_cfg.rpn.sampler.neg_sampler.floor_fraction=0.5.
_base_ = './libra-faster-rcnn_r50_fpn_1x_coco.py'

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
