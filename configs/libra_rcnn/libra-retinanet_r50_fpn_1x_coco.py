# Libra RetinaNet R-50-FPN 1x COCO: MMDetection's stock recipe with this
# package's BFP, Balanced L1 loss (beta = 0.11) and Focal loss. Balanced L1
# uses the continuous-gradient form for beta != 1; add
# model.bbox_head.loss_bbox.mmdet_compat=True to train MMDetection's formula
# (the one its published 37.6 AP was trained with).
_base_ = 'mmdet::libra_rcnn/libra-retinanet_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmdet_libra_ext'], allow_failed_imports=False)
custom_hooks = [dict(type='mmdet_libra_ext.WeightsOnlyCheckpointHook')]
# Checkpoints and last_checkpoint written atomically: a run killed while
# saving never leaves --resume a truncated or deleted file.
default_hooks = dict(
    checkpoint=dict(type='mmdet_libra_ext.AtomicCheckpointHook')
)

model = dict(
    neck=[
        dict(
            type='FPN',
            in_channels=[256, 512, 1024, 2048],
            out_channels=256,
            start_level=1,
            add_extra_convs='on_input',
            num_outs=5,
        ),
        dict(
            type='mmdet_libra_ext.BFP',
            in_channels=256,
            num_levels=5,
            refine_level=1,
            refine_type='non_local',
        ),
    ],
    bbox_head=dict(
        loss_cls=dict(type='mmdet_libra_ext.FocalLoss'),
        loss_bbox=dict(type='mmdet_libra_ext.BalancedL1Loss'),
    ),
)
