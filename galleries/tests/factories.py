import os

import factory
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from accounts.tests.factories import UserFactory
from galleries.copies import facts_of
from galleries.models import Gallery, Photo
from testing.photos import image_bytes, jpeg_upload  # noqa: F401  (tests take their photos from here)


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
