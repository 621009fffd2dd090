import os

import factory
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from accounts.tests.factories import UserFactory
from galleries.copies import facts_of
from galleries.models import Gallery, Photo, Upload, UploadStatus
from testing.photos import image_bytes, jpeg_upload  # noqa: F401  (tests take their photos from here)


class GalleryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Gallery

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Gallery {n}")


class PhotoFactory(factory.django.DjangoModelFactory):
    """A photo row only, its keys named as an upload names them (Photo.assign_object_keys());
    use galleries.uploads.store_photo(gallery, jpeg_upload()) for one with stored files."""

    class Meta:
        model = Photo

    gallery = factory.SubFactory(GalleryFactory)
    original_filename = factory.Sequence(lambda n: f"IMG_{n:04d}.jpg")
    file_size = 1234
    width = 3000
    height = 2000

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        photo = model_class(*args, **kwargs)
        if not photo.object_key:
            photo.assign_object_keys()
        photo.save(force_insert=True)
        return photo


class UploadFactory(factory.django.DjangoModelFactory):
    """An upload's row only, nothing stored: a file that is not a photo yet, with its tile in the
    photographer's grid while it is processing or has failed."""

    class Meta:
        model = Upload

    gallery = factory.SubFactory(GalleryFactory)
    file_name = factory.Sequence(lambda n: f"IMG_{n:04d}.jpg")
    size = 1
    sha256 = "0" * 64
    object_key = factory.Sequence(lambda n: f"uploads/{n}")
    part_size = 1
    status = UploadStatus.PROCESSING


def stored_random_photo(gallery, size, name="big.jpg", **fields):
    """A photo whose original is `size` random bytes, stored, with the facts an upload records
    (a ZIP does not decode its photos: big ones are cheap this way)."""
    data = os.urandom(size)
    facts = facts_of(ContentFile(data))
    photo = PhotoFactory.build(gallery=gallery, original_filename=name, file_size=size, **facts, **fields)
    photo.assign_object_keys()
    default_storage.save(photo.object_key, ContentFile(data))
    photo.save(force_insert=True)
    return photo
