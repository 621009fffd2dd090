"""Watermarks: the photographer's mark, burned into the pixels of what a watermarked share link
serves (the pixel work is galleries.images: burn_watermark, watermarked_renditions).

A photographer has one watermark (accounts.models.User, set on /accounts/profile/watermark/);
its `watermark_version` changes whenever it does. A photo's watermarked renditions are made from
its clean preview, once per version, and stored under keys that name the version:

    <gallery>/watermarked/<photo>/<version>/<name>     (name: one of images.WATERMARKED, or full.jpg)

so that a request after a change asks for keys that do not exist yet and never meets an old copy.
What is not made yet is made when it is first asked for (one rendition, from the preview: tens
of milliseconds; galleries.serving.serve_watermarked), and by the task worker for a whole gallery
when a link starts watermarking it (galleries.tasks.make_watermarked, asked by sharing.signals;
one run per gallery at a time, galleries.models.WatermarkRun).
The watermarked web-size and full-size JPEG downloads are copies (galleries/copies.py) stored
here too: the web size is the watermarked preview itself. Objects of another version, or of
photos that are gone, are deleted by the task galleries.tasks.discard_stale_watermarks after a
change or a delete (stale_keys()); check_storage counts them as orphans (live_keys()).
"""

import logging
import re
from functools import lru_cache

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.dispatch import Signal

from galleries import images
from galleries.models import Gallery, Photo

logger = logging.getLogger(__name__)

PREVIEW_LONG_EDGE = 1200  # of the live preview on the watermark's page
KEY = re.compile(r"(?P<gallery>[^/]+)/watermarked/(?P<photo>[0-9a-f-]{36})/(?P<version>[0-9a-f]+)/(?P<name>[^/]+)$")


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


def rendition_key(photo, version, name):
    return f"{photo.gallery_id}/watermarked/{photo.pk}/{version}/{name}"


def copy_key(photo, version, kind):
    """Where a watermarked download copy (galleries/copies.py) is stored: the web size is the
    watermarked preview itself (one object for both), the full-size JPEG one of its own."""
    return rendition_key(photo, version, "preview.jpg" if kind == "web" else "full.jpg")


def make(photo, photographer, names):
    """Make `names` of `photo`'s renditions with `photographer`'s watermark from its clean
    preview, and store them: {name: bytes}. Raises FileNotFoundError when the preview is missing,
    or one of STORAGE_ERRORS."""
    version = photographer.watermark_version
    with default_storage.open(photo.preview_object_key) as file:
        preview = file.read()
    made = images.watermarked_renditions(preview, watermark_of(photographer), names)
    for name, data in made.items():
        default_storage.save(rendition_key(photo, version, name), ContentFile(data))
    return made


def read_or_make(photo, photographer, name):
    """The stored rendition `name` of `photo` with `photographer`'s current watermark, made now
    if it is not yet. Raises as make() does."""
    try:
        return default_storage.read_small(rendition_key(photo, photographer.watermark_version, name))
    except FileNotFoundError:
        return make(photo, photographer, [name])[name]


def names_of(photo):
    """The watermarked renditions `photo` has: a thumbnail, a preview and its sizes for srcset."""
    return [name for name in images.WATERMARKED if name in ("thumbnail.jpg", "preview.jpg") or name in photo.size_keys]


def make_missing(photos, photographer):
    """make() every rendition of `photos` that is not stored yet for the current watermark (the
    task worker's part); a photo that fails is logged and skipped. Returns how many were made."""
    version = photographer.watermark_version
    count = 0
    for photo in photos:
        stored = {KEY.match(key)["name"] for key in default_storage.list_keys(rendition_key(photo, version, ""))}
        missing = [name for name in names_of(photo) if name not in stored]
        if not missing:
            continue
        try:
            count += len(make(photo, photographer, missing))
        except (OSError, images.ImageRejected):
            logger.warning("Could not make the watermarked renditions of %s", photo, exc_info=True)
    return count


def stale_keys(gallery_id, photo_id=None):
    """The watermarked objects stored for the gallery (or one photo of it) that nothing serves
    any more: those of another version than its photographer's watermark, of photos that are
    gone, or all of them when the gallery is gone."""
    keys = list(default_storage.list_keys(f"{gallery_id}/watermarked/{f'{photo_id}/' if photo_id else ''}"))
    gallery = Gallery.objects.filter(pk=gallery_id).select_related("owner").first()
    if gallery is None:
        return keys
    version = gallery.owner.watermark_version
    photos = {str(pk) for pk in gallery.photos.values_list("pk", flat=True)}
    return [key for key in keys if not _is_live(KEY.match(key), photos, version)]


def live_keys(keys):
    """Those of `keys` that are watermarked renditions something may still serve (check_storage)."""
    matches = [match for key in keys if (match := KEY.match(key))]
    galleries = {match["gallery"] for match in matches}
    versions = {
        str(gallery.pk): gallery.owner.watermark_version
        for gallery in Gallery.objects.filter(pk__in=galleries).select_related("owner")
    }
    photos = {str(pk) for pk in Photo.objects.filter(gallery__in=versions).values_list("pk", flat=True)}
    return {match.string for match in matches if _is_live(match, photos, versions.get(match["gallery"]))}


def _is_live(match, photos, version):
    return bool(match) and match["photo"] in photos and match["version"] == version


# Sent when a photographer's watermark changes: apps that serve watermarked photos make them anew.
watermark_changed = Signal()


def sample(photographer, watermark):
    """A JPEG of one of the photographer's photos (their latest) with `watermark` burned in, for
    the watermark's page; a picture half light and half dark when they have none yet."""
    photo = Photo.objects.filter(gallery__owner=photographer).order_by("-uploaded_at").first()
    preview = None
    if photo:
        try:
            with default_storage.open(photo.preview_object_key) as file:
                preview = file.read()
        except FileNotFoundError:
            pass
    return images.watermark_sample(preview, watermark, PREVIEW_LONG_EDGE)
