# Libra Fast R-CNN R-50-FPN 1x COCO: MMDetection's stock recipe with this
# package's BFP, Balanced L1 loss and IoU-/instance-balanced samplers in place
# of MMDetection's built-ins (everything else inherited unchanged).
_base_ = 'mmdet::libra_rcnn/libra-fast-rcnn_r50_fpn_1x_coco.py'

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
            num_outs=5,
        ),
        dict(
            type='mmdet_libra_ext.BFP',
            in_channels=256,
            num_levels=5,
            refine_level=2,
            refine_type='non_local',
        ),
    ],
    roi_head=dict(
        bbox_head=dict(loss_bbox=dict(type='mmdet_libra_ext.BalancedL1Loss'))
    ),
    train_cfg=dict(
        rcnn=dict(
            sampler=dict(
                pos_sampler=dict(
                    type='mmdet_libra_ext.InstanceBalancedPosSampler'
                ),
                neg_sampler=dict(type='mmdet_libra_ext.IoUBalancedNegSampler'),
            )
        )
    ),
)
