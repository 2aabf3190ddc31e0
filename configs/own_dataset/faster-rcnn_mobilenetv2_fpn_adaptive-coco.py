# faster-rcnn_mobilenetv2_fpn_adaptive-voc.py for a dataset in COCO format,
# COCO's own layout: one json per split, annotations/instances_{train,val,
# test}.json, and the images of each split in a folder of its name
# (train/, val/, test/). Change data_root and classes, nothing else; where
# your files lie elsewhere, change _coco below. Then fit it and train the
# fitted config, as the VOC recipe (docs/own_dataset.md).
#
# Only the dataset reader differs: MMDetection's CocoDataset instead of
# VOCDataset. The model, schedule, augmentation, fit_to_data and the
# evaluation (VOC AP50 per class and COCO-style box mAP, computed from the
# samples' ground truth, so that either format scores the same) are the VOC
# recipe's, and so is its evidence.
_base_ = './faster-rcnn_mobilenetv2_fpn_adaptive-voc.py'

data_root = 'data/my_dataset/'
classes = ('object',)
metainfo = dict(classes=classes)
model = dict(roi_head=dict(bbox_head=dict(num_classes=len(classes))))


# Each split's reader; where your files lie elsewhere (a Roboflow export's
# train/_annotations.coco.json, say), change ann_file and data_prefix here.
def _coco(split):
    return dict(
        dataset=dict(
            type='CocoDataset',
            data_root=data_root,
            metainfo=metainfo,
            ann_file=f'annotations/instances_{split}.json',
            data_prefix=dict(_delete_=True, img=f'{split}/'),
        )
    )


train_dataloader = _coco('train')
val_dataloader = _coco('val')
test_dataloader = _coco('test')
del _coco
