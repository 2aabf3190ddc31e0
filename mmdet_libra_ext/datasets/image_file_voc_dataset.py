"""Pascal VOC annotations read with their image files as annotation tools
leave them: an image that is not ``<id>.jpg``, a size of zero.

MMDetection's ``VOCDataset`` (``XMLDataset``) reads each listed id's image
at ``<img_subdir>/<id>.jpg`` whatever the files are, and takes its size
from the annotation's ``<size>``, opening the image only where ``<size>``
is absent. Annotation tools write otherwise:

- images in other formats (``.png``, ``.jpeg``, ``.JPG``), named in the
  annotation's ``<filename>`` (LabelImg, CVAT and Roboflow's VOC export
  write it): ``VOCDataset`` fails to load ``<id>.jpg`` when the image is
  first read;
- ``<width>0</width><height>0</height>`` (LabelImg on images it could not
  measure; 37 of the 300 annotations of a public fruit dataset):
  MMDetection keeps the zero, its training filter (``filter_cfg.min_size``)
  then drops those images without a word, and whatever reads the sizes
  (the aspect-ratio batch sampler, ``fit_to_data``'s input scale and
  test-time caps) reads 0.

:class:`ImageFileVOCDataset` is ``VOCDataset`` that finds the image where
``<id>.jpg`` is not there (:func:`image_file`) and reads the size from
the image where the annotation's width or height is not positive;
everything else is MMDetection's. ``fit_to_data`` names it in a fitted
config's datasets where their files need it, and says so.
"""

import os.path as osp
import xml.etree.ElementTree as ET
from typing import List, Optional

from mmcv import imfrombytes
from mmdet.datasets import VOCDataset
from mmengine.fileio import exists, get

from mmdet_libra_ext.registry import DATASETS

#: The extensions tried, in this order, after ``<filename>``, for an id
#: whose ``<id>.jpg`` is not there (OpenCV decodes each).
IMAGE_EXTENSIONS = (
    '.jpg', '.jpeg', '.png', '.JPG', '.JPEG', '.PNG', '.bmp', '.tif',
    '.tiff', '.webp',
)  # fmt: skip


def image_candidates(
    img_subdir: str, img_id: str, filename: Optional[str]
) -> List[str]:
    """Where an id's image may be, relative to the dataset's root, in the
    order :func:`image_file` tries them: MMDetection's ``<id>.jpg``, the
    annotation's ``<filename>`` (its base name, in ``img_subdir``), then
    ``<id>`` with each of :data:`IMAGE_EXTENSIONS`."""
    names = [f'{img_id}.jpg']
    if filename and filename.strip():
        names.append(osp.basename(filename.strip()))
    names += [img_id + ext for ext in IMAGE_EXTENSIONS]
    out: List[str] = []
    for name in names:
        path = osp.join(img_subdir, name)
        if path not in out:
            out.append(path)
    return out


def xml_filename(
    xml_path: str, backend_args: Optional[dict] = None
) -> Optional[str]:
    """An annotation's ``<filename>`` (None where it has none)."""
    root = ET.fromstring(get(xml_path, backend_args=backend_args))
    return root.findtext('filename')


def image_file(
    root: str,
    img_subdir: str,
    img_id: str,
    xml_path: Optional[str],
    backend_args: Optional[dict] = None,
) -> Optional[str]:
    """The image of ``img_id`` relative to ``root``: the first of
    :func:`image_candidates` that exists (the annotation at ``xml_path``
    read only where ``<id>.jpg`` is not there); None where none does."""
    default = osp.join(img_subdir, f'{img_id}.jpg')
    if exists(osp.join(root, default), backend_args=backend_args):
        return default
    filename = None
    if xml_path and exists(xml_path, backend_args=backend_args):
        filename = xml_filename(xml_path, backend_args)
    for path in image_candidates(img_subdir, img_id, filename)[1:]:
        if exists(osp.join(root, path), backend_args=backend_args):
            return path
    return None


@DATASETS.register_module()
class ImageFileVOCDataset(VOCDataset):
    """``VOCDataset`` that reads each id's image where it is (``<id>.jpg``,
    else the annotation's ``<filename>``, else ``<id>`` with another image
    extension: :func:`image_file`) and its size from the image where the
    annotation gives a width or height of 0 (or less).

    An id none of whose candidates exists is named when the dataset is
    built. The image is decoded as its pipeline's ``LoadImageFromFile``
    decodes it (its ``color_type`` and ``imdecode_backend``: a fitted
    config that ignores the EXIF orientation reads the unturned size),
    else as MMDetection decodes one without ``<size>``
    (``mmcv.imfrombytes``, OpenCV), only for those annotations.
    """

    def _decode_args(self) -> dict:
        """``imfrombytes``'s flag and backend, the pipeline's loader's."""
        for t in getattr(self.pipeline, 'transforms', []):
            if type(t).__name__ == 'LoadImageFromFile':
                return dict(flag=t.color_type, backend=t.imdecode_backend)
        return dict(backend='cv2')

    def parse_data_info(self, img_info: dict) -> dict:
        """MMDetection's data info of the image where it is, its ``width``
        and ``height`` the image's where the annotation's are not
        positive."""
        found = image_file(
            self.sub_data_root,
            self.img_subdir,
            img_info['img_id'],
            img_info['xml_path'],
            self.backend_args,
        )
        if found is None:
            img_id = img_info['img_id']
            raise FileNotFoundError(
                f'no image of id {img_id!r} in '
                f'{osp.join(self.sub_data_root, self.img_subdir)}: neither '
                f'{img_id}.jpg, the <filename> of {img_info["xml_path"]} nor '
                f'{img_id} with another of {", ".join(IMAGE_EXTENSIONS)}'
            )
        info = super().parse_data_info(dict(img_info, file_name=found))
        if info['width'] <= 0 or info['height'] <= 0:
            img = imfrombytes(
                get(info['img_path'], backend_args=self.backend_args),
                **self._decode_args(),
            )
            if img is None:
                raise ValueError(
                    f'{info["xml_path"]} gives the image size '
                    f'{info["width"]} x {info["height"]} and '
                    f'{info["img_path"]} cannot be decoded to read it'
                )
            info['height'], info['width'] = img.shape[:2]
        return info
