"""Watermarks: the photographer's mark, burned into the pixels of what a watermarked share link
serves (the pixel work is galleries.images.burn_watermark and watermarked_renditions).

A photographer has one watermark (accounts.models.User, set on /accounts/profile/watermark/), and
its `watermark_version` changes whenever it does.
"""

from functools import lru_cache

from django.core.files.storage import default_storage

from galleries import images
from galleries.models import Photo

PREVIEW_LONG_EDGE = 1200  # of the live preview on the watermark's page


def watermark_of(photographer, image=None):
    """The photographer's watermark for galleries.images: their image (or `image`, PNG bytes not
    stored yet), else their text."""
    if image is None and photographer.watermark_image_key:
        image = _stored_image(photographer.watermark_image_key)
    return images.Watermark(
        image=image or b"",
        text=photographer.watermark_label,
        font_file=photographer.watermark_font_file,
        position=photographer.watermark_position,
        opacity=photographer.watermark_opacity,
        scale=photographer.watermark_scale,
    )


@lru_cache(maxsize=16)
def _stored_image(key):
    # A watermark image never changes under its key (a new one gets a new key).
    with default_storage.open(key) as file:
        return file.read()


def sample(photographer, watermark):
    """A JPEG of one of the photographer's photos (their latest) with `watermark` burned in, for
    the watermark's page; a picture half light and half dark when they have none yet."""
    photo = Photo.objects.filter(gallery__owner=photographer).order_by("-uploaded_at").first()
    preview = None
    if photo:
        with default_storage.open(photo.preview_object_key) as file:
            preview = file.read()
    return images.watermark_sample(preview, watermark, PREVIEW_LONG_EDGE)
