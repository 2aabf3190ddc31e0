# Libra Faster R-CNN demo: the baseline demo with all three Libra components
# of this package (the recipe of MMDetection's libra-faster-rcnn config):
# BFP neck after FPN, IoU-balanced negatives + instance-balanced positives
# in the RoI sampler, Balanced L1 loss in the RoI head.
_base_ = './faster-rcnn_r18_fpn_shapes_demo.py'

num_channels = 128
model = dict(
    neck=[
        dict(
            type='FPN',
            in_channels=[64, 128, 256, 512],
            out_channels=num_channels,
            num_outs=5),
        dict(
            type='mmdet_libra_ext.BFP',
            in_channels=num_channels,
            num_levels=5,
            refine_level=2,
            refine_type='non_local')
    ],
    roi_head=dict(
        bbox_head=dict(
            loss_bbox=dict(
                _delete_=True,
                type='mmdet_libra_ext.BalancedL1Loss',
                alpha=0.5,
                gamma=1.5,
                beta=1.0,
                loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(sampler=dict(neg_pos_ub=5), allowed_border=-1),
        rcnn=dict(
            sampler=dict(
                _delete_=True,
                type='CombinedSampler',
                num=256,
                pos_fraction=0.25,
                add_gt_as_proposals=True,
                pos_sampler=dict(
                    type='mmdet_libra_ext.InstanceBalancedPosSampler'),
                neg_sampler=dict(
                    type='mmdet_libra_ext.IoUBalancedNegSampler',
                    floor_thr=-1,
                    floor_fraction=0,
                    num_bins=3)))))
