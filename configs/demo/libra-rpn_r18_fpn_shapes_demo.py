# Libra RPN demo: the plain RPN demo with all three Libra components applied
# to the RPN (each explained in its single-component config): balanced anchor
# sampling (inherited), BFP after FPN, Balanced L1 with beta 0.11.
_base_ = './libra-sampler-rpn_r18_fpn_shapes_demo.py'

num_channels = 64
model = dict(
    neck=[
        dict(
            type='FPN',
            in_channels=[32, 64, 128, 256],
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
    rpn_head=dict(
        loss_bbox=dict(
            type='mmdet_libra_ext.BalancedL1Loss',
            alpha=0.5,
            gamma=1.5,
            beta=0.11,
        )
    ),
)
