# The ALWA + Libra demo with an iteration-based loop over an infinite
# sampler, checkpoints by iteration (the resume tests' second loop type).
_base_ = '../../configs/demo/alwa-libra-faster-rcnn_r18_fpn_shapes_demo.py'

train_cfg = dict(
    _delete_=True, type='IterBasedTrainLoop', max_iters=6, val_interval=3
)
train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=4),
    dict(
        type='CosineAnnealingLR',
        by_epoch=False,
        begin=0,
        end=6,
        T_max=6,
        eta_min=1e-5,
    ),
]
default_hooks = dict(
    checkpoint=dict(by_epoch=False, interval=2, max_keep_ckpts=-1)
)
log_processor = dict(by_epoch=False)
