# BCCD baseline: the demo Faster R-CNN (half-width ResNet-18 FPN, random
# initialisation, no downloads) on real microscopy images of blood smears,
# read by MMDetection's own VOCDataset (no conversion step).
#
# Data: the BCCD dataset of the public repository Shenggan/BCCD_Dataset (its
# `BCCD/` folder: Annotations/, ImageSets/Main/, JPEGImages/), at data_root
# (default data/BCCD/; or --cfg-options data_root=... plus the dataloaders'
# data_root, as experiments/ablation.py --data-root does). 640 x 480 images, three
# classes (RBC 4155 boxes, WBC 372, Platelets 361), splits train 205, val 87,
# test 72.
#
# Chosen on BCCD only; for another small dataset see configs/own_dataset/
# (input scale and anchors fitted to the data, docs/own_dataset.md).
#
# Evaluation: VOC mAP@0.5 with the 11-point (VOC2007) and the area (VOC2012)
# precision integral, each class's AP among the metrics
# (mmdet_libra_ext.ClasswiseVOCMetric), and COCO-style box mAP per class
# (MMDetection's CocoMetric on the samples' gt_instances:
# mmdet_libra_ext.GTInstancesCocoMetric). Trained
# on train, evaluated on val at the end of training; test with MMDetection's
# tools/test.py (test_dataloader is the test split).
#
# Degenerate boxes (BCCD has two of zero width and height): removed from
# training by FilterAnnotations; in evaluation they stay as ground truth.
_base_ = '../demo/faster-rcnn_r18_fpn_shapes_demo.py'

data_root = 'data/BCCD/'
classes = ('RBC', 'WBC', 'Platelets')
metainfo = dict(classes=classes)
# 0.8 of the images' own 640 x 480: chosen on val with the schedule below
# (docs/bccd.md): at the full size an iteration takes about twice as long,
# and the 13 epochs that fit the same time reached less (0.874 against
# 0.890 VOC AP50).
img_scale = (512, 384)

model = dict(
    # Anchors of 24, 48, 96, 192, 384 px (P2-P6, ratios 0.5, 1, 2) for
    # platelets of about 32 px, red cells of 80 px, white cells of 150 px
    # at this scale.
    rpn_head=dict(anchor_generator=dict(scales=[6])),
    roi_head=dict(bbox_head=dict(num_classes=len(classes))),
)

# Microscopy has no up or down: flips along either axis and both at once
# (MMDetection's 'diagonal': a half turn).
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
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

# Test-time augmentation (MMDetection's tools/test.py CONFIG CHECKPOINT
# --tta): the four views the training flips make (none, horizontal,
# vertical, diagonal), merged by weighted boxes fusion
# (mmdet_libra_ext.WBFTTAModel) rather than NMS: the views' boxes of one cell
# are averaged, and a box one view alone finds keeps a quarter of its
# score (docs/bccd.md).
tta_model = dict(
    type='mmdet_libra_ext.WBFTTAModel',
    tta_cfg=dict(iou_thr=0.55, conf_type='avg', max_per_img=100),
)
tta_pipeline = test_pipeline[:-1] + [
    dict(
        type='TestTimeAug',
        transforms=[
            [
                dict(type='RandomFlip', prob=0.0),
                dict(type='RandomFlip', prob=1.0, direction='horizontal'),
                dict(type='RandomFlip', prob=1.0, direction='vertical'),
                dict(type='RandomFlip', prob=1.0, direction='diagonal'),
            ],
            [
                dict(
                    type='PackDetInputs',
                    meta_keys=test_pipeline[-1]['meta_keys']
                    + ('flip', 'flip_direction'),
                )
            ],
        ],
    ),
]


def _split(name, pipeline, test_mode):
    return dict(
        _delete_=True,
        type='VOCDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file=f'ImageSets/Main/{name}.txt',
        data_prefix=dict(sub_data_root=''),
        filter_cfg=dict(filter_empty_gt=not test_mode, min_size=32),
        pipeline=pipeline,
        test_mode=test_mode,
        backend_args=None,
    )


train_dataloader = dict(
    batch_size=4, dataset=_split('train', train_pipeline, False)
)
val_dataloader = dict(batch_size=4, dataset=_split('val', test_pipeline, True))
test_dataloader = dict(
    batch_size=4, dataset=_split('test', test_pipeline, True)
)
del _split

val_evaluator = [
    dict(
        type='mmdet_libra_ext.ClasswiseVOCMetric',
        eval_mode='11points',
        prefix='voc07',
    ),
    dict(
        type='mmdet_libra_ext.ClasswiseVOCMetric',
        eval_mode='area',
        prefix='voc12',
    ),
    # MMDetection's CocoMetric with the ground truth of the samples'
    # gt_instances (no COCO json; the test pipeline needs no `instances`
    # meta key, which MMDetection < 3.2 refuses for images given to
    # DetInferencer).
    dict(
        type='mmdet_libra_ext.GTInstancesCocoMetric',
        metric='bbox',
        classwise=True,
    ),
]
test_evaluator = val_evaluator

# 52 iterations of 4 images per epoch: 1248 iterations, about 12 minutes
# of training on 2 CPU cores (docs/bccd.md).
max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
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
auto_scale_lr = dict(enable=False, base_batch_size=4)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
