import io

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.tests.factories import UserFactory
from galleries.models import Gallery, Photo


class GalleryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Gallery

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Gallery {n}")


class PhotoFactory(factory.django.DjangoModelFactory):
    """A photo row only; use galleries.uploads.store_photo(gallery, jpeg_upload()) for one with stored files."""

    class Meta:
        model = Photo

    gallery = factory.SubFactory(GalleryFactory)
    original_filename = factory.Sequence(lambda n: f"IMG_{n:04d}.jpg")
    object_key = factory.LazyAttribute(lambda p: f"{p.gallery.pk}/{p.original_filename}")
    thumbnail_object_key = factory.LazyAttribute(lambda p: f"{p.gallery.pk}/thumbnails/{p.original_filename}")
    preview_object_key = factory.LazyAttribute(lambda p: f"{p.gallery.pk}/thumbnails/preview-{p.original_filename}")
    file_size = 1234
    width = 3000
    height = 2000


def image_bytes(width=600, height=400, format="JPEG", orientation=None, color=(200, 80, 40), mode="RGB", **save_args):
    """Encoded image bytes, made here so tests need no files on disk.

    With `orientation`, the EXIF Orientation tag is written; the pixels are drawn so that the
    picture is upright only once that orientation is applied (a red top-left corner).
    """
    image = Image.new(mode, (width, height), color)
    if mode == "RGB":
        image.paste((255, 0, 0), (0, 0, width // 4, height // 4))
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        save_args["exif"] = exif
    buffer = io.BytesIO()
    image.save(buffer, format, **save_args)
    return buffer.getvalue()


def jpeg_upload(name="IMG_0001.jpg", content_type="image/jpeg", **kwargs):
    return SimpleUploadedFile(name, image_bytes(**kwargs), content_type=content_type)
