# Plain RPN demo: the baseline demo's backbone, FPN, RPN head, data and
# schedule, trained as a region proposal network alone (MMDetection's `RPN`
# detector, like mmdet::rpn/rpn_r50_fpn_1x_coco.py) and evaluated like
# MMDetection's RPN configs: proposal recall averaged over IoU 0.5:0.95 at
# 100, 300 and 1000 proposals (AR@100/300/1000). Every Libra RPN demo config
# inherits this one and changes only its component.
_base_ = './faster-rcnn_r18_fpn_shapes_demo.py'

model = dict(
    type='RPN',
    # MMDetection's RPN takes no RoI head (the key is ignored) ...
    roi_head=None,
    train_cfg=dict(rpn_proposal=None, rcnn=None),
    # ... and keeps 1000 proposals per image for AR@1000, after NMS at 0.7
    # (the stock RPN's test settings).
    test_cfg=dict(rpn=dict(nms_pre=2000, max_per_img=1000), rcnn=None),
)

# MMDetection's CocoMetric, whose proposal recall fails with numpy >= 1.24
# (see mmdet_libra_ext.CocoProposalMetric).
val_evaluator = dict(
    type='mmdet_libra_ext.CocoProposalMetric',
    metric='proposal_fast',
    proposal_nums=(100, 300, 1000),
)
test_evaluator = val_evaluator
