"""How one image of the embedded datasets is drawn: object outlines,
cluttered backgrounds and non-overlapping placement (``make_image``)."""

import math
from typing import Dict, List, Tuple

import cv2
import numpy as np

#: The classes of the two variants.
SHAPES_CLASSES = ('circle', 'square', 'triangle', 'cross')
CROWDED_CLASSES = ('star', 'diamond', 'bar', 'hexagon', 'arrow')


def _polygon(
    cls_name: str, cx: float, cy: float, size: float, angle: float
) -> np.ndarray:
    """Outline of one object as an (N, 2) float polygon."""
    r = size / 2.0
    if cls_name == 'circle':
        t = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        pts = np.stack([np.cos(t), np.sin(t)], 1) * r
    elif cls_name == 'square':
        pts = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float) * r * 0.8
    elif cls_name == 'triangle':
        t = np.array([-90, 30, 150]) * np.pi / 180
        pts = np.stack([np.cos(t), np.sin(t)], 1) * r
    elif cls_name == 'cross':
        a, b = 1.0, 0.33
        pts = (
            np.array(
                [
                    [-b, -a],
                    [b, -a],
                    [b, -b],
                    [a, -b],
                    [a, b],
                    [b, b],
                    [b, a],
                    [-b, a],
                    [-b, b],
                    [-a, b],
                    [-a, -b],
                    [-b, -b],
                ],
                float,
            )
            * r
        )
    elif cls_name == 'star':
        t = np.arange(10) * np.pi / 5 - np.pi / 2
        radius = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
        pts = np.stack([np.cos(t), np.sin(t)], 1) * (radius * r)[:, None]
    elif cls_name == 'diamond':
        pts = np.array([[0, -1], [0.55, 0], [0, 1], [-0.55, 0]], float) * r
    elif cls_name == 'bar':
        pts = np.array([[-1, -0.3], [1, -0.3], [1, 0.3], [-1, 0.3]], float) * r
    elif cls_name == 'hexagon':
        t = np.arange(6) * np.pi / 3
        pts = np.stack([np.cos(t), np.sin(t)], 1) * r
    elif cls_name == 'arrow':
        pts = (
            np.array(
                [
                    [-1, -0.25],
                    [0.2, -0.25],
                    [0.2, -0.6],
                    [1, 0],
                    [0.2, 0.6],
                    [0.2, 0.25],
                    [-1, 0.25],
                ],
                float,
            )
            * r
        )
    else:
        raise ValueError(f'unknown shape class {cls_name!r}')
    if cls_name != 'circle':
        c, s = math.cos(angle), math.sin(angle)
        pts = pts @ np.array([[c, s], [-s, c]])
    return pts + np.array([cx, cy])


def _box_iou(a: List[float], b: List[float]) -> float:
    """IoU of two xyxy boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (
        (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    )
    return inter / union if union > 0 else 0.0


def _background(
    rng: np.random.Generator, h: int, w: int, clutter: int = 1
) -> np.ndarray:
    """Gradient + noise + distractor strokes and blobs (uint8 BGR);
    ``clutter`` multiplies the number of strokes and blobs."""
    c0 = rng.uniform(0, 255, 3)
    c1 = rng.uniform(0, 255, 3)
    t = np.linspace(0, 1, w)[None, :, None]
    if rng.random() < 0.5:
        t = np.linspace(0, 1, h)[:, None, None]
    img = c0 * (1 - t) + c1 * t + np.zeros((h, w, 3))
    img += rng.normal(0, rng.uniform(4, 20), (h, w, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(3 * clutter, 12 * clutter))):
        p0 = tuple(int(v) for v in rng.integers(0, [w, h]))
        p1 = tuple(int(v) for v in rng.integers(0, [w, h]))
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.line(img, p0, p1, color, int(rng.integers(1, 3)), cv2.LINE_AA)
    for _ in range(int(rng.integers(0, 6 * clutter))):
        center = tuple(int(v) for v in rng.integers(0, [w, h]))
        axes = tuple(int(v) for v in rng.integers(2, 7, 2))
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.ellipse(
            img,
            center,
            axes,
            float(rng.uniform(0, 180)),
            0,
            360,
            color,
            -1,
            cv2.LINE_AA,
        )
    return img


def make_image(
    rng: np.random.Generator,
    img_size: int = 256,
    max_objects: int = 8,
    empty_prob: float = 0.08,
    min_size: float = 8.0,
    max_size: float = 128.0,
    classes: Tuple[str, ...] = SHAPES_CLASSES,
    min_objects: int = 1,
    max_iou: float = 0.3,
    clutter: int = 1,
) -> Tuple[np.ndarray, List[Dict]]:
    """Draw one image and return it with its objects: between
    ``min_objects`` and ``max_objects`` of ``classes`` (fewer where they do
    not fit), no two overlapping by more than ``max_iou``.

    Returns:
        tuple: the BGR uint8 image and a list of dicts with ``category_id``
        (0-based index into ``classes``), ``bbox`` (xyxy) and ``polygon``
        (flat list).
    """
    img = _background(rng, img_size, img_size, clutter)
    objects: List[Dict] = []
    if rng.random() < empty_prob:
        return img, objects
    n_target = int(rng.integers(min_objects, max_objects + 1))
    for _ in range(n_target * 10):
        if len(objects) >= n_target:
            break
        # Log-uniform sizes: as many tiny as large objects.
        size = float(np.exp(rng.uniform(np.log(min_size), np.log(max_size))))
        cls = int(rng.integers(len(classes)))
        cx, cy = rng.uniform(size / 2, img_size - size / 2, 2)
        pts = _polygon(
            classes[cls], cx, cy, size, float(rng.uniform(0, 2 * np.pi))
        )
        pts = np.clip(pts, 0, img_size - 1)
        box = [
            float(pts[:, 0].min()),
            float(pts[:, 1].min()),
            float(pts[:, 0].max()) + 1,
            float(pts[:, 1].max()) + 1,
        ]
        # Overlaps are allowed, heavy occlusion is not.
        if any(_box_iou(box, o['bbox']) > max_iou for o in objects):
            continue
        region = img[int(box[1]) : int(box[3]), int(box[0]) : int(box[2])]
        bg_mean = region.reshape(-1, 3).mean(0)
        # Colour far enough from the local background to be visible.
        for _ in range(10):
            color = rng.integers(0, 256, 3)
            if np.abs(color - bg_mean).sum() > 120:
                break
        cv2.fillPoly(
            img,
            [np.round(pts * 16).astype(np.int32)],
            tuple(int(v) for v in color),
            cv2.LINE_AA,
            shift=4,
        )
        objects.append(
            dict(
                category_id=cls,
                bbox=box,
                polygon=[round(float(v), 2) for v in pts.reshape(-1)],
            )
        )
    return img, objects
