# faster-rcnn_mobilenetv2_fpn_adaptive-voc.py with Libra R-CNN's Balanced
# Feature Pyramid alone (after the FPN, as
# libra-faster-rcnn_mobilenetv2_fpn_adaptive-voc.py has it). Change
# data_root and classes.
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
)
