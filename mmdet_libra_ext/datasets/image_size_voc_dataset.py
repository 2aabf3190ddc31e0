"""Pascal VOC annotations whose image size is zero, read from the image.

MMDetection's ``VOCDataset`` (``XMLDataset.parse_data_info``) takes each
image's size from its annotation's ``<size>`` and opens the image only
where ``<size>`` is absent. Annotation tools also write ``<width>0</width>
<height>0</height>`` (LabelImg on images it could not measure; 37 of the
300 annotations of a public fruit dataset). MMDetection keeps the zero:
its training filter (``filter_cfg.min_size``) then drops those images
without a word, and whatever reads the sizes (the aspect-ratio batch
sampler, ``fit_to_data``'s input scale and test-time caps) reads 0.

:class:`ImageSizeVOCDataset` is ``VOCDataset`` that reads the size from
the image where the annotation's width or height is not positive;
everything else is MMDetection's. ``fit_to_data`` names it in a fitted
config's datasets where their annotations need it, and says so.
"""

from mmcv import imfrombytes
from mmdet.datasets import VOCDataset
from mmengine.fileio import get

from mmdet_libra_ext.registry import DATASETS


@DATASETS.register_module()
class ImageSizeVOCDataset(VOCDataset):
    """``VOCDataset`` with each image's size read from the image where
    its annotation gives a width or height of 0 (or less).

    The image is decoded as its pipeline's ``LoadImageFromFile`` decodes
    it (its ``color_type`` and ``imdecode_backend``: a fitted config that
    ignores the EXIF orientation reads the unturned size), else as
    MMDetection decodes one without ``<size>`` (``mmcv.imfrombytes``,
    OpenCV), only for those annotations.
    """

    def _decode_args(self) -> dict:
        """``imfrombytes``'s flag and backend, the pipeline's loader's."""
        for t in getattr(self.pipeline, 'transforms', []):
            if type(t).__name__ == 'LoadImageFromFile':
                return dict(flag=t.color_type, backend=t.imdecode_backend)
        return dict(backend='cv2')

    def parse_data_info(self, img_info: dict) -> dict:
        """MMDetection's data info, its ``width`` and ``height`` the
        image's where the annotation's are not positive."""
        info = super().parse_data_info(img_info)
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
