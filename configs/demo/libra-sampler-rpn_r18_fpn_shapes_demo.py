# Ablation: the plain RPN demo with Libra's sampling among the anchors alone
# (instance-balanced positives, IoU-balanced negatives with
# bin_range='negatives'). The RPN's negatives all lie below neg_iou_thr = 0.3;
# MMDetection's bins span [0, max IoU over all anchors), so whenever an anchor
# overlaps a ground truth at 0.9 or more all negatives fall into the first
# bin (mmdetection#5323). tools/analysis_tools/analyze_sampling.py --rpn measures how often
# that happens here and what either choice samples.
_base_ = './rpn_r18_fpn_shapes_demo.py'

model = dict(
    train_cfg=dict(
        rpn=dict(
            sampler=dict(
                type='CombinedSampler',
                pos_sampler=dict(
                    type='mmdet_libra_ext.InstanceBalancedPosSampler'
                ),
                neg_sampler=dict(
                    type='mmdet_libra_ext.IoUBalancedNegSampler',
                    floor_thr=-1,
                    floor_fraction=0,
                    num_bins=3,
                    bin_range='negatives',
                ),
            )
        )
    )
)
