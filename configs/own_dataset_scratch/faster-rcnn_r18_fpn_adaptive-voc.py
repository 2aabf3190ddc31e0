# The own-dataset recipe from random initialisation (no downloads), the
# base and the comparison of the recipe to copy, which fine-tunes ImageNet
# weights: configs/own_dataset/faster-rcnn_mobilenetv2_fpn_adaptive-voc.py.
# For a small dataset in Pascal VOC layout (Annotations/,
# ImageSets/Main/{train,val,test}.txt, JPEGImages/): change data_root and
# classes, nothing else (docs/own_dataset.md). Then fit it to the data
# and train the config that writes:
#   python tools/analysis_tools/fit_to_data.py CONFIG   (-> CONFIG_fitted.py)
#
# What is fitted (the options are fit_to_data below; each fitted value is
# written with the figures it came from):
# - the input scale: the images are resized (all by one factor, or each to
#   one long side where their sizes spread, as photos' do) so that the
#   small objects (10th percentile) have at least 24 px and the large ones
#   (90th) at most 320 px, the long side at most 1333 px;
# - the anchors: their best possible recall on the training boxes at that
#   scale is measured; below 0.95 (IoU 0.5, anchor and box centred) their
#   scales and ratios are fitted to the boxes;
# - the test-time caps on the boxes kept per image, for dense data.
# What is fixed whatever the dataset's size: the schedule, in iterations
# (1200, batches of 4, warm-up 100, cosine), validation every 200
# iterations, and the checkpoint that does best on validation kept
# (MMDetection's save_best on VOC AP50, area).
#
# The model is the demo's Faster R-CNN (half-width ResNet-18 FPN, random
# initialisation, no downloads); the evaluation is BCCD's (VOC AP50 with
# each class's AP, COCO-style box mAP).
_base_ = '../bccd/faster-rcnn_r18_fpn_bccd.py'

data_root = 'data/my_dataset/'
classes = ('object',)
metainfo = dict(classes=classes)

model = dict(
    # The demo's anchors (scales=[8]): fit_to_data checks and fits them.
    rpn_head=dict(anchor_generator=dict(scales=[8])),
    roi_head=dict(bbox_head=dict(num_classes=len(classes))),
)

# Flips along either axis and both at once (MMDetection's 'diagonal': a
# half turn), as the BCCD recipe: tens of images seen in four orientations.
# For images with an up and down (street scenes, documents) keep
# 'horizontal' only: --cfg-options
# train_dataloader.dataset.pipeline.3.direction=horizontal
# train_dataloader.dataset.pipeline.3.prob=0.5. The scale of
# Resize is fit_to_data's.
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(
        type='RandomFlip',
        prob=0.75,
        direction=['horizontal', 'vertical', 'diagonal'],
    ),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1), keep_empty=False),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
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
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=train_pipeline
    ),
)
# One image per batch when evaluating, as MMDetection's configs and its
# DetInferencer: images of different sizes padded together would change
# the feature maps, so tools/test.py and inference could differ.
val_dataloader = dict(
    batch_size=1,
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=test_pipeline
    ),
)
test_dataloader = dict(
    batch_size=1,
    dataset=dict(
        data_root=data_root, metainfo=metainfo, pipeline=test_pipeline
    ),
)

max_iters = 1200
val_interval = 200
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=val_interval,
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(
        type='CosineAnnealingLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        T_max=max_iters,
        eta_min=1e-5,
    ),
]
default_hooks = dict(
    # Validation logged at its iteration (not at epoch 0), so each
    # evaluation keeps its own record in the logs.
    logger=dict(interval=50, log_metric_by_epoch=False),
    checkpoint=dict(
        by_epoch=False,
        interval=val_interval,
        max_keep_ckpts=1,
        save_best='voc12/mAP',
        rule='greater',
    ),
)
log_processor = dict(by_epoch=False)
# tools/analysis_tools/fit_to_data.py's options (its defaults).
fit_to_data = dict(
    input_scale=True,
    # 'auto': one factor for images of one size, each image to one long
    # side where their sizes spread (photos); or 'factor', 'long_side'.
    resize='auto',
    anchors=True,
    smallest=24,
    largest=320,
    max_long_side=1333,
    bpr_thr=0.5,
    bpr_target=0.95,
)
custom_hooks = [
    dict(type='mmdet_libra_ext.WeightsOnlyCheckpointHook'),
    dict(type='mmdet_libra_ext.ResumableRandomnessHook'),
]
