# Ablation on BCCD: the baseline with the Balanced L1 loss alone in the RoI
# head (alpha 0.5, gamma 1.5, beta 1); neck and sampler as in the baseline.
_base_ = './faster-rcnn_r18_fpn_bccd.py'

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
            )
        )
    )
)
