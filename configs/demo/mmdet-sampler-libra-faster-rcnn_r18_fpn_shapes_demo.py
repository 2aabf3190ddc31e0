# Diagnostic for the evidence table: the Libra demo with this package's BFP
# and Balanced L1 but MMDetection's built-in IoUBalancedNegSampler and
# InstanceBalancedPosSampler, to locate differences between the two Libra
# rows of the table.
_base_ = './libra-faster-rcnn_r18_fpn_shapes_demo.py'

model = dict(
    train_cfg=dict(
        rcnn=dict(
            sampler=dict(
                pos_sampler=dict(type='InstanceBalancedPosSampler'),
                neg_sampler=dict(type='IoUBalancedNegSampler'),
            )
        )
    )
)
