# The Libra Faster R-CNN of configs/bccd/libra-faster-rcnn_r18_fpn_bccd.py
# (IoU-balanced sampling, BFP, Balanced L1) on the recipe that fine-tunes
# ImageNet weights, faster-rcnn_mobilenetv2_fpn_adaptive-voc.py: change
# data_root and classes. Only the three components differ from it.
_base_ = './faster-rcnn_mobilenetv2_fpn_adaptive-voc.py'

data_root = 'data/my_dataset/'
classes = ('object',)
metainfo = dict(classes=classes)
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))

num_channels = 64
model = dict(
    neck=[
        dict(
            type='FPN',
            in_channels={{_base_.backbone_channels}},
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
            num_classes=len(classes),
            loss_bbox=dict(
                _delete_=True,
                type='mmdet_libra_ext.BalancedL1Loss',
                alpha=0.5,
                gamma=1.5,
                beta=1.0,
                loss_weight=1.0,
            ),
        )
    ),
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
    ),
)
