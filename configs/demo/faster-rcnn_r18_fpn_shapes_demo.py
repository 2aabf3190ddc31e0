# Baseline demo: a small Faster R-CNN (ResNet-18 FPN, trained from scratch,
# no pretrained weights, no downloads) on the embedded shapes dataset
# (generate it with `python -m mmdet_libra_ext.datasets.make_shapes`).
# Every Libra / ALWA demo config inherits this one and changes only its
# component, so their differences are the components' differences.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['mmdet_libra_ext'], allow_failed_imports=False)

data_root = 'data/shapes/'
classes = ('circle', 'square', 'triangle', 'cross')
metainfo = dict(classes=classes)
img_scale = (256, 256)
num_channels = 64

norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    # ResNet-18 at half width (32..256 channels): four shape classes need
    # far less capacity than COCO, and a CPU iteration takes 0.64x the time.
    backbone=dict(
        depth=18,
        base_channels=32,
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=None,
    ),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=num_channels),
    rpn_head=dict(
        in_channels=num_channels,
        feat_channels=num_channels,
        # Anchors of 12..192 px for objects of 8..128 px.
        anchor_generator=dict(scales=[3]),
    ),
    roi_head=dict(
        # sampling_ratio=2 instead of adaptive: mmcv's CPU RoIAlign (its
        # backward above all) was half of an iteration with adaptive sampling.
        bbox_roi_extractor=dict(
            out_channels=num_channels, roi_layer=dict(sampling_ratio=2)
        ),
        bbox_head=dict(
            in_channels=num_channels,
            fc_out_channels=256,
            num_classes=len(classes),
        ),
    ),
    # 128 RoIs per image (COCO recipe: 512) and 300 proposals: the RoI head
    # dominates a CPU iteration; 256x256 images have few objects.
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128)),
    ),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)),
)

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    # Boxes under 1 px (e.g. after a crop or rescale) would give infinite
    # regression targets (log of a zero width); images left without boxes
    # are kept as negatives.
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=(
            'img_id',
            'img_path',
            'ori_shape',
            'img_shape',
            'scale_factor',
        ),
    ),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader

val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

# From scratch on a small dataset: AdamW with a short warm-up converges in a
# few CPU minutes where the COCO SGD recipe would need hours.
max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10, norm_type=2),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        T_max=max_epochs,
        eta_min=1e-5,
    ),
]
auto_scale_lr = dict(enable=False, base_batch_size=8)

# Checkpoints written atomically: a run killed while saving never leaves a
# truncated file or a dangling last_checkpoint for --resume.
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(
        type='mmdet_libra_ext.AtomicCheckpointHook',
        interval=max_epochs,
        max_keep_ckpts=1,
    ),
)
randomness = dict(seed=0)

# Checkpoints that load with torch.load(weights_only=True) (torch >= 2.6):
# needed for --resume under the pinned torch. Random streams re-seeded per
# iteration, so that --resume continues exactly what the run would have
# drawn.
custom_hooks = [
    dict(type='mmdet_libra_ext.WeightsOnlyCheckpointHook'),
    dict(type='mmdet_libra_ext.ResumableRandomnessHook'),
]
