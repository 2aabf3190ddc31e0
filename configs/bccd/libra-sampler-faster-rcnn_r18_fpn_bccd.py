# Ablation on BCCD: the baseline with Libra's sampling alone (IoU-balanced
# negatives and instance-balanced positives in the RoI sampler, and the RPN
# sampler settings of the Libra recipe), as in the demo's sampling-only
# config; FPN neck and L1 loss as in the baseline.
_base_ = './faster-rcnn_r18_fpn_bccd.py'

model = dict(
    train_cfg=dict(
        rpn=dict(sampler=dict(neg_pos_ub=5), allowed_border=-1),
        rcnn=dict(
            sampler=dict(
                _delete_=True,
                type='CombinedSampler',
                num=128,
                pos_fraction=0.25,
                add_gt_as_proposals=True,
                pos_sampler=dict(
                    type='mmdet_libra_ext.InstanceBalancedPosSampler'
                ),
                neg_sampler=dict(
                    type='mmdet_libra_ext.IoUBalancedNegSampler',
                    floor_thr=-1,
                    floor_fraction=0,
                    num_bins=3,
                ),
            )
        ),
    )
)
