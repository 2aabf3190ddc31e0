# The fine-tuned own-dataset recipe
# (../own_dataset/faster-rcnn_mobilenetv2_fpn_adaptive-voc.py: ImageNet
# MobileNetV2, frozen up to stride 16, 1000 iterations) on BCCD, trained
# the way faster-rcnn_r18_fpn_bccd-trainval.py trains the BCCD recipe:
# on trainval (train 205 + val 87 = 292 images) for the number of
# iterations chosen with the train split (the same 1000, so the same
# training time), evaluated on test only (tools/test.py of MMDetection,
# with --tta for the recipe's four flips). docs/own_dataset.md compares
# the two on test.
#
# Fit it to the data first, as the recipe it inherits
# (tools/analysis_tools/fit_to_data.py CONFIG, on the trainval boxes).
# Val is part of the training data here, so training evaluates nothing:
# no val_dataloader, val_cfg or val_evaluator, and no best checkpoint
# (the last one is tested). Nothing may be chosen with this config.
_base_ = '../own_dataset/faster-rcnn_mobilenetv2_fpn_adaptive-voc.py'

data_root = 'data/BCCD/'
classes = ('RBC', 'WBC', 'Platelets')
metainfo = dict(classes=classes)
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='ImageSets/Main/trainval.txt',
    )
)
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = dict(dataset=dict(data_root=data_root, metainfo=metainfo))
model = dict(roi_head=dict(bbox_head=dict(num_classes=len(classes))))

default_hooks = dict(checkpoint=dict(save_best=None, rule=None))
