"""What a config's RoI or RPN sampler receives, image by image: shared by
``tools/analysis_tools/analyze_sampling.py`` and ``compare_samplers.py``,
the sampler benchmarks and tests.

The config's training loader (4 images per batch, its augmentation) gives
the ground truths; the RoI head's proposals come from a detector's RPN or
from a function of the ground truths, the RPN's are its anchors; the
config's assigner of that stage labels them. Everything is
seeded, so a tool prints the same numbers on every run.
"""

from typing import Any, Callable, Iterator, Optional, Tuple

import torch


def load_config(config: str, data_root: Optional[str] = None) -> Any:
    """The config with MMDetection's and this package's modules registered
    (``data_root`` replaces the training data root)."""
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    import mmdet_libra_ext  # noqa: F401

    register_all_modules()
    cfg = Config.fromfile(config)
    if data_root:
        cfg.train_dataloader.dataset.data_root = data_root
    return cfg


def anchors(cfg: Any, img_shape: Tuple[int, ...]) -> torch.Tensor:
    """All anchors of ``cfg``'s RPN head for an image of ``img_shape``
    (padded as the config's data preprocessor pads it), every level."""
    from mmdet.registry import TASK_UTILS

    generator = TASK_UTILS.build(cfg.model.rpn_head.anchor_generator)
    div = cfg.model.data_preprocessor.get('pad_size_divisor', 1)
    h, w = (-(-int(x) // div) * div for x in img_shape[:2])
    sizes = [(-(-h // s[1]), -(-w // s[0])) for s in generator.strides]
    return torch.cat(generator.grid_priors(sizes, device='cpu'))


def rpn_proposals(model: Any, data: dict) -> list:
    """The proposals of ``model``'s RPN for a batch of the training loader
    (eval mode, no gradient), one ``InstanceData`` per image."""
    with torch.no_grad():
        model.eval()
        d = model.data_preprocessor(data, False)
        return model.rpn_head.predict(
            model.extract_feat(d['inputs']), d['data_samples'], rescale=False
        )


def gt_instances(sample: Any) -> Any:
    """A data sample's ground truths with the boxes as a float tensor, as
    the detector's data preprocessor gives them."""
    gt = sample.gt_instances.clone()
    gt.bboxes = getattr(gt.bboxes, 'tensor', gt.bboxes).float()
    return gt


def assigned_images(
    cfg: Any,
    batches: int,
    seed: int = 0,
    model: Any = None,
    proposals: Optional[Callable] = None,
    stage: str = 'rcnn',
) -> Iterator[Tuple]:
    """Yield ``(assign_result, pred_instances, gt_instances)`` for every image
    of the first ``batches`` training batches of ``cfg``.

    Args:
        cfg (Config): The config (see :func:`load_config`).
        batches (int): Number of batches of 4 images.
        seed (int): Seeds the data order, the augmentation and torch.
        model (nn.Module, optional): Detector whose RPN gives the proposals.
        proposals (callable, optional): ``proposals(gt_bboxes, img_shape)``
            gives them when there is no ``model``.
        stage (str): ``'rcnn'``: the RoI head's proposals and assigner;
            ``'rpn'``: the RPN's anchors (all of them, as with
            ``allowed_border=-1``) and assigner.
    """
    from mmdet.registry import TASK_UTILS
    from mmengine.runner import Runner
    from mmengine.runner.utils import set_random_seed
    from mmengine.structures import InstanceData

    if stage != 'rpn' and model is None and proposals is None:
        raise ValueError(
            "assigned_images(stage='rcnn') needs a model or proposals"
        )
    set_random_seed(seed)
    assigner = TASK_UTILS.build(cfg.model.train_cfg[stage].assigner)
    if stage == 'rpn':
        model = None
        proposals = lambda gt, shape: anchors(cfg, shape)  # noqa: E731
    loader_cfg = cfg.train_dataloader.copy()
    loader_cfg.batch_size = 4
    loader_cfg.sampler = dict(loader_cfg.sampler, seed=seed)
    loader = Runner.build_dataloader(loader_cfg, seed=seed)
    for b, data in enumerate(loader):
        if b >= batches:
            break
        props = rpn_proposals(model, data) if model is not None else None
        for i, sample in enumerate(data['data_samples']):
            gt = gt_instances(sample)
            if props is not None:
                priors = props[i].bboxes
            else:
                assert proposals is not None  # (refused at the start)
                priors = proposals(gt.bboxes, sample.img_shape)
            pred = InstanceData(priors=priors)
            yield assigner.assign(pred, gt), pred, gt


def synthetic_proposals(
    gt: torch.Tensor,
    img_shape: Tuple[int, ...],
    n: int = 2000,
    generator: Optional[torch.Generator] = None,
) -> torch.Tensor:
    """``n`` boxes like an RPN's output for an image of ``img_shape``:
    half of them the ground truths ``gt`` jittered at several scales, the
    rest uniformly random boxes, clipped to the image."""
    h, w = img_shape[:2]
    boxes = []
    if gt.numel():
        k = n // 2 // gt.size(0) + 1
        wh = (gt[:, 2:] - gt[:, :2]).repeat_interleave(k, 0)
        ctr = ((gt[:, 2:] + gt[:, :2]) / 2).repeat_interleave(k, 0)
        s = torch.rand(len(wh), 1, generator=generator) * 0.6
        ctr = (
            ctr
            + (torch.rand(ctr.shape, generator=generator) - 0.5) * 2 * s * wh
        )
        wh = wh * torch.exp(
            (torch.rand(wh.shape, generator=generator) - 0.5) * 2 * s
        )
        boxes.append(torch.cat([ctr - wh / 2, ctr + wh / 2], 1))
    m = n - sum(len(b) for b in boxes)
    xy = torch.rand(m, 2, generator=generator) * torch.tensor([w, h])
    wh = torch.rand(m, 2, generator=generator) * torch.tensor([w, h]) / 2 + 4
    boxes.append(torch.cat([xy, xy + wh], 1))
    out = torch.cat(boxes)[:n]
    out[:, 0::2] = out[:, 0::2].clamp(0, w)
    out[:, 1::2] = out[:, 1::2].clamp(0, h)
    return out


def coco_scale_image(
    num_gts: int = 60, seed: int = 0, device: Any = 'cpu'
) -> Tuple[Any, Any, Any]:
    """``(assign_result, pred_instances, gt_instances)`` of an RPN at COCO
    scale: the anchors of MMDetection's RPN R-50-FPN on an 800x1344 image
    (268,569), ``num_gts`` boxes of COCO-like sizes (12 to 400 px, seeded),
    assigned by the RPN's MaxIoUAssigner (positive 0.7, negative 0.3,
    ignored in between)."""
    from mmdet.models.task_modules.assigners import MaxIoUAssigner
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    from mmengine.structures import InstanceData

    gen = AnchorGenerator(
        strides=[4, 8, 16, 32, 64], ratios=[0.5, 1.0, 2.0], scales=[8]
    )
    sizes = [(-(-800 // sh), -(-1344 // sw)) for sw, sh in gen.strides]
    anchors = torch.cat(gen.grid_priors(sizes, device=device))
    g = torch.Generator().manual_seed(seed)
    wh = torch.exp(torch.empty(num_gts, 2).uniform_(2.5, 6.0, generator=g))
    xy = torch.rand(num_gts, 2, generator=g) * (
        torch.tensor([1344.0, 800.0]) - wh
    )
    gt = InstanceData(
        bboxes=torch.cat([xy, xy + wh], 1).to(device),
        labels=torch.zeros(num_gts, dtype=torch.long, device=device),
    )
    pred = InstanceData(priors=anchors)
    assign = MaxIoUAssigner(
        pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3
    ).assign(pred, gt)
    return assign, pred, gt


def rpn_samplers(sampler: dict) -> dict:
    """An RPN sampler config of this package's samplers (a CombinedSampler
    as in configs/libra_rcnn/libra-rpn_r50_fpn_1x_coco.py) and its
    counterparts: MMDetection's samplers of the same names (our
    ``bin_range`` option dropped, which MMDetection lacks) and the stock
    ``RandomSampler`` with the same quota."""
    import copy

    mmdet = copy.deepcopy(sampler)
    for side in ('pos_sampler', 'neg_sampler'):
        mmdet[side]['type'] = mmdet[side]['type'].split('.')[-1]
    mmdet['neg_sampler'].pop('bin_range', None)
    random = {
        k: sampler[k]
        for k in ('num', 'pos_fraction', 'neg_pos_ub', 'add_gt_as_proposals')
        if k in sampler
    }
    return {
        'ours': copy.deepcopy(sampler),
        'mmdet': mmdet,
        'random': dict(random, type='RandomSampler'),
    }
