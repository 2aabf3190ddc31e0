"""A metric for tests: what ground truth reached the evaluator, with no
detection needed (``boxes``: the number of annotated boxes, ignored ones
included; ``coordinates``: the sum of their x1, y1, x2, y2). Registered in
the package's scope, as every module of it is, so MMDetection's registry
stays as it ships."""

from mmengine.evaluator import BaseMetric

from mmdet_libra_ext.registry import METRICS


@METRICS.register_module()
class GroundTruthCountMetric(BaseMetric):
    default_prefix = 'gt_count'

    def process(self, data_batch, data_samples):
        for sample in data_samples:  # one result per sample
            count, total = 0, 0.0
            for key in ('gt_instances', 'ignored_instances'):
                if key in sample:
                    boxes = sample[key]['bboxes']
                    count += len(boxes)
                    total += float(getattr(boxes, 'tensor', boxes).sum())
            self.results.append((count, total))

    def compute_metrics(self, results):
        return dict(
            boxes=float(sum(n for n, _ in results)),
            coordinates=sum(c for _, c in results),
        )
