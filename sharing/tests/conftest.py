import pytest

from galleries.tests.factories import GalleryFactory, jpeg_upload
from galleries.uploads import store_photo
from sharing.tests.factories import ShareLinkFactory


@pytest.fixture
def shared_gallery(photo_storage):
    """A gallery with two stored photos (of different sizes) and an active share link to it."""
    gallery = GalleryFactory(name="Smith wedding")
    store_photo(gallery, jpeg_upload("IMG_0001.jpg", width=640, height=480))
    store_photo(gallery, jpeg_upload("IMG_0002.jpg", width=300, height=500, color=(20, 120, 200)))
    return ShareLinkFactory(gallery=gallery)
