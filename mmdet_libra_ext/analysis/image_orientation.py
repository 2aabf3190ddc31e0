"""Photos turned by their EXIF orientation, against boxes drawn unturned.

A phone stores a portrait photo as landscape pixels with an EXIF tag
saying how to turn it (orientation 6: a quarter turn clockwise).
MMDetection's ``LoadImageFromFile`` decodes with OpenCV's ``IMREAD_COLOR``
(or Pillow, turned the same way), which applies the tag: a 4032 x 3024
photo tagged 6 is trained as 3024 x 4032. Annotation tools differ: some
draw the boxes on the turned image, as a viewer shows it; others on the
stored pixels (LabelImg's issue #198, Labelbox's #46). Boxes drawn on the
stored pixels are trained against the turned image: wrong boxes, and no
error anywhere.

The annotations say which: one measured on the stored pixels gives the
stored width and height, one measured on the turned image the two
swapped. ``fit_to_data`` reads each training image's tag and stored size
(its header, Pillow) against its annotation (:func:`read_orientations`)
and, where the boxes were drawn on the stored pixels, writes MMDetection's
own switch, ``color_type='color_ignore_orientation'``, into every
``LoadImageFromFile`` of the fitted config (:func:`ignore_orientation`),
saying why; annotations that disagree, or tags that keep the size (a half
turn, a mirror) and so cannot be told from it, are named, not guessed.
"""

from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from mmdet_libra_ext.utils.config_writer import add_comment, config_dicts

#: The EXIF orientation tag, and its values that swap width and height.
ORIENTATION = 0x0112
SWAPS = (5, 6, 7, 8)

#: Loader flags and what ignores the tag for each (mmcv's ``imread_flags``;
#: 'unchanged' ignores it already).
IGNORING = {
    'color': 'color_ignore_orientation',
    'grayscale': 'grayscale_ignore_orientation',
}


def _tag_and_size(path: str) -> Tuple[int, Tuple[int, int]]:
    """An image's EXIF orientation (1 where it has none or cannot be read)
    and stored ``(width, height)``, from its header."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return int(im.getexif().get(ORIENTATION, 1) or 1), im.size
    except (OSError, ValueError, TypeError, SyntaxError):
        return 1, (0, 0)  # unreadable: the dataset's own checks name it


def read_orientations(
    images: Iterable[Tuple[str, Tuple[int, int]]],
) -> Dict[str, Any]:
    """For ``images`` (each an image path and its annotation's ``(width,
    height)``, 0 where unknown), those whose EXIF orientation turns them:
    ``tagged`` (how many), ``stored`` and ``turned`` (how many of those
    that a quarter turn would change give the stored size, or the turned
    one), ``undecided`` (a tag that keeps the size, a square image or no
    size), ``first`` (a path of each kind) and ``ignore`` (the boxes were
    drawn on the stored pixels: some annotations say so, none says the
    opposite). Empty where no image is tagged."""
    out: Dict[str, Any] = dict(
        tagged=0, stored=0, turned=0, undecided=0, first={}
    )
    for path, (w, h) in images:
        tag, (sw, sh) = _tag_and_size(path)
        if not 2 <= tag <= 8:
            continue
        out['tagged'] += 1
        kind = 'undecided'
        if tag in SWAPS and sw != sh and min(w, h) > 0:
            if (w, h) == (sw, sh):
                kind = 'stored'
            elif (w, h) == (sh, sw):
                kind = 'turned'
        out[kind] += 1
        out['first'].setdefault(kind, path)
    if not out['tagged']:
        return {}
    out['ignore'] = bool(out['stored'] and not out['turned'])
    return out


def training_images(
    dataset: Any, splits: Dict[str, List[Dict[str, Any]]]
) -> List[Tuple[str, Tuple[int, int]]]:
    """Each image of a built training dataset (under its wrappers) and its
    annotation's ``(width, height)``; 0 where the annotation gave 0 (in
    ``splits``, :func:`~.dataset_files.check_data_files`: the size was
    then read from the image, not measured by the annotation tool)."""
    from mmdet_libra_ext.analysis.box_stats import leaf_datasets

    read = {
        xml
        for split in splits.get('train_dataloader', [])
        for xml in split.get('zero_size', [])
    }
    out = []
    for ds in leaf_datasets(dataset):
        for i in range(len(ds)):
            info = ds.get_data_info(i)
            w, h = int(info.get('width', 0)), int(info.get('height', 0))
            if info.get('xml_path') in read:
                w = h = 0
            out.append((info['img_path'], (w, h)))
    return out


def ignore_orientation(node: Any) -> int:
    """Every ``LoadImageFromFile`` in a (nested) config that decodes with
    OpenCV or Pillow (which apply the tag) decodes ignoring it; returns
    how many were set."""
    n = 0
    for d in config_dicts(node):
        kind = str(d.get('type', '')).split('.')[-1]
        flag = d.get('color_type', 'color')
        backend = d.get('imdecode_backend', 'cv2')
        if (
            kind == 'LoadImageFromFile'
            and flag in IGNORING
            and backend in ('cv2', 'pillow')
        ):
            d['color_type'] = IGNORING[flag]
            n += 1
    return n


def orientation_lines(found: Optional[Dict[str, Any]]) -> List[str]:
    """What :func:`read_orientations` found, for fit_to_data's summary."""
    return [f'orientation: {orientation_text(found)}'] if found else []


def orientation_text(found: Dict[str, Any]) -> str:
    """What :func:`read_orientations` found, as one sentence."""
    first = found['first']
    text = (
        f'{found["tagged"]} training images carry an EXIF orientation that '
        "MMDetection's loader applies"
    )
    if found['ignore']:
        return (
            f'{text}; {found["stored"]} annotations give the unturned size '
            f'(the first: {first["stored"]}): the boxes were drawn on the '
            'stored pixels, so every LoadImageFromFile decodes ignoring it'
        )
    if found['stored']:
        return (
            f'{text}; {found["stored"]} annotations give the unturned size '
            f'(the first: {first["stored"]}), {found["turned"]} the turned '
            f'one (the first: {first["turned"]}): no loader setting fits '
            'both; save the images turned and redraw the unturned ones'
        )
    if found['turned']:
        return (
            f'{text}; the annotations give the turned size: kept '
            f'(the first: {first["turned"]})'
        )
    return (
        f'{text}, and their annotations cannot tell on which pixels the '
        f'boxes were drawn (a half turn or a mirror keeps the size; the '
        f'first: {first["undecided"]}): kept; check one with '
        "MMDetection's tools/analysis_tools/browse_dataset.py"
    )


def add_orientation(
    cfg: Any,
    found: Dict[str, Any],
    comments: Dict[Tuple[str, ...], str],
    keys: Sequence[str],
) -> None:
    """Where :func:`read_orientations` found the boxes drawn on the stored
    pixels, :func:`ignore_orientation` in the config's ``keys``; what was
    found after the comment of each key changed (of the first key where
    none is: ``comments``, config path to text)."""
    if not found:
        return
    if found['ignore']:
        said = [k for k in keys if cfg.get(k) and ignore_orientation(cfg[k])]
    else:
        said = [k for k in keys[:1] if cfg.get(k)]
    text = f'Orientation: {orientation_text(found)}.'
    for key in said:
        add_comment(comments, (key,), text)
