# faster-rcnn_mobilenetv2_fpn_adaptive-voc.py with Libra R-CNN's Balanced
# L1 loss alone (the RoI head's box loss, as
# libra-faster-rcnn_mobilenetv2_fpn_adaptive-voc.py has it). Change
# data_root and classes.
_base_ = './faster-rcnn_mobilenetv2_fpn_adaptive-voc.py'

data_root = 'data/my_dataset/'
classes = ('object',)
metainfo = dict(classes=classes)
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))

model = dict(
    roi_head=dict(
        bbox_head=dict(
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
)
