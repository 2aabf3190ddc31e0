# Ablation on BCCD: the baseline with the Balanced Feature Pyramid alone
# (non-local refinement after FPN); sampler and loss as in the baseline.
_base_ = './faster-rcnn_r18_fpn_bccd.py'

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
    ]
)
