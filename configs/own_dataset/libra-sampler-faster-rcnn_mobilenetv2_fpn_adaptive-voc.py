# faster-rcnn_mobilenetv2_fpn_adaptive-voc.py with Libra R-CNN's
# IoU-balanced sampling alone (the RoI head's IoU-balanced negatives and
# instance-balanced positives, the RPN's settings of the Libra config):
# the component as libra-faster-rcnn_mobilenetv2_fpn_adaptive-voc.py has
# it. Change data_root and classes.
_base_ = './faster-rcnn_mobilenetv2_fpn_adaptive-voc.py'

data_root = 'data/my_dataset/'
classes = ('object',)
metainfo = dict(classes=classes)
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))

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
    ),
)
