# The Libra RetinaNet (MMDetection's libra-retinanet_r50_fpn: BFP after the
# FPN, refined at level 1, and Balanced L1 with beta 0.11 as the box loss;
# a one-stage detector has no RoI sampling) on
# retinanet_mobilenetv2_fpn_adaptive-voc.py. Change data_root and classes.
_base_ = './retinanet_mobilenetv2_fpn_adaptive-voc.py'

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
        loss_bbox=dict(
            _delete_=True,
            type='mmdet_libra_ext.BalancedL1Loss',
            alpha=0.5,
            gamma=1.5,
            beta=0.11,
            loss_weight=1.0,
        )
    ),
)
