"""What a training run left in its work dir: the logged scalars, the
config copy and the last checkpoint, and the trained detector's
predictions on its validation or test images."""

import glob
import json
import os.path as osp
from typing import Any, Dict, List, Tuple

METRICS = (
    'bbox_mAP',
    'bbox_mAP_50',
    'bbox_mAP_75',
    'bbox_mAP_s',
    'bbox_mAP_m',
    'bbox_mAP_l',
)
#: The BCCD configs' Pascal VOC evaluators (11-point and area AP).
VOC_PREFIXES = ('voc07/', 'voc12/')


def is_val(record: dict) -> bool:
    """Whether a scalars record is an evaluation (``coco/...`` keys)."""
    return any(k.startswith('coco/') for k in record)


def load_scalars(work_dir: str) -> List[dict]:
    """The records of a run's ``*/vis_data/scalars.json``, by step. A run
    resumed with ``--resume`` logs the steps after the resume point into a
    new timestamped folder, a restarted one all of them: the newest record
    of each step (training or evaluation) wins."""
    files = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    )
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json in {work_dir}')
    by_step: Dict[Tuple[bool, Any], dict] = {}
    for file in files:
        with open(file) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    by_step[(is_val(r), r.get('step'))] = r
    return [by_step[k] for k in sorted(by_step, key=lambda k: k[1])]


def run_config(work_dir: str) -> Tuple[str, str]:
    """The config tools/train.py copied into the work dir (the newest
    ``*.py`` there) and its checkpoint: the best on validation where the
    config keeps one (``save_best``: the newest ``best_*.pth``), else the
    one named by ``last_checkpoint``."""
    configs = sorted(glob.glob(osp.join(work_dir, '*.py')), key=osp.getmtime)
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not configs or not osp.isfile(pointer):
        raise FileNotFoundError(
            f'{work_dir}: no config copy (*.py) or no last_checkpoint: '
            'not a finished tools/train.py run'
        )
    with open(pointer) as f:
        checkpoint = f.read().strip()
    if not osp.isfile(checkpoint):
        # A work dir moved after training: the checkpoint beside it.
        checkpoint = osp.join(work_dir, osp.basename(checkpoint))
    best = sorted(
        glob.glob(osp.join(work_dir, 'best_*.pth')), key=osp.getmtime
    )
    return configs[-1], best[-1] if best else checkpoint


def predict_images(
    config: str, checkpoint: str, num_images: int, split: str = 'val'
) -> Tuple[List[Tuple[str, list, Any]], Tuple[str, ...], str]:
    """(image path, ground-truth boxes and labels, prediction) of the first
    ``num_images`` images of the config's ``split`` (``'val'`` or
    ``'test'``; val is test for a config without one, as a config trained
    on trainval), the model in eval mode on the CPU; and the classes and
    the split read."""
    from mmdet.apis import inference_detector, init_detector
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    from mmdet_libra_ext.utils.checkpoint import check_not_legacy_fit

    register_all_modules()
    cfg = Config.fromfile(config)
    check_not_legacy_fit(cfg, checkpoint)
    if not cfg.get(f'{split}_dataloader'):
        split = 'test'
    dataset = DATASETS.build(cfg[f'{split}_dataloader'].dataset)
    model = init_detector(cfg, checkpoint, device='cpu')
    out = []
    for i in range(min(num_images, len(dataset))):
        info = dataset.get_data_info(i)
        gts = [
            (inst['bbox'], inst['bbox_label'])
            for inst in info['instances']
            if not inst.get('ignore_flag', 0)
        ]
        pred = inference_detector(model, info['img_path']).pred_instances
        out.append((info['img_path'], gts, pred))
    return out, tuple(dataset.metainfo['classes']), split
