# Your own small dataset in Pascal VOC layout (Annotations/,
# ImageSets/Main/{train,val,test}.txt, JPEGImages/): change data_root and
# classes, nothing else (docs/own_dataset.md). Then fit it to the data
# and train the config that writes:
#   python tools/analysis_tools/fit_to_data.py CONFIG   (-> CONFIG_fitted.py)
#
# The model fine-tunes ImageNet weights, as MMDetection's recipes do: a
# MobileNetV2 (MMDetection's backbone) initialised from
# open-mmlab://mmdet/mobilenet_v2, which MMDetection downloads on first use.
# Offline, convert torchvision's or another torchvision-layout MobileNetV2
# (tools/model_converters/mobilenetv2_to_mmdet.py) and name the file:
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
#
# The rest is the from-scratch recipe of
# configs/own_dataset_scratch/faster-rcnn_r18_fpn_adaptive-voc.py (its
# augmentation, evaluation, fit_to_data, best checkpoint on validation),
# with a fine-tuning schedule (docs/own_dataset.md, where it was chosen
# on validation and its evidence is).
_base_ = '../own_dataset_scratch/faster-rcnn_r18_fpn_adaptive-voc.py'

data_root = 'data/my_dataset/'
classes = ('object',)
metainfo = dict(classes=classes)
train_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
val_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
test_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))

pretrained = 'open-mmlab://mmdet/mobilenet_v2'
# MMDetection's MobileNetV2 with its default outputs (strides 4 to 32); the
# stem and the first four stages (up to stride 16) frozen, so that no
# backward pass runs through the high-resolution layers (half an
# iteration's time), and BatchNorm in eval mode with its ImageNet
# statistics (norm_eval=True, as MMDetection's fine-tuning recipes freeze
# ResNet's BatchNorm): batches of 4 images are too few to estimate them.
backbone = dict(
    type='MobileNetV2',
    out_indices=(1, 2, 4, 7),
    frozen_stages=4,
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=True,
    init_cfg=dict(type='Pretrained', checkpoint=pretrained),
)
backbone_channels = [24, 32, 96, 1280]
model = dict(
    backbone=dict(_delete_=True, **backbone),
    neck=dict(in_channels=backbone_channels),
    roi_head=dict(bbox_head=dict(num_classes=len(classes))),
)

# Fine-tuning: 1000 iterations, warm-up 100, cosine; AdamW at 2e-3 for the
# new layers (FPN, RPN, RoI head) and a tenth of it for the ImageNet
# backbone, whose features larger steps destroy: on three classes of
# photos the whole detector at 1e-3 reached val AP50 0.24 after 200
# iterations and 0.80 after 600, the backbone at a tenth 0.68 and 0.90.
# The frozen stages make 1000 iterations cost less than the from-scratch
# recipe's 1200 (docs/own_dataset.md, where all of it was chosen on
# validation).
max_iters = 1000
val_interval = 200
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
optim_wrapper = dict(
    optimizer=dict(lr=2e-3),
    paramwise_cfg=dict(custom_keys=dict(backbone=dict(lr_mult=0.1))),
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
default_hooks = dict(checkpoint=dict(interval=val_interval))
