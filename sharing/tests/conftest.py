import urllib.request

import pytest

from galleries.tests.factories import GalleryFactory, jpeg_upload
from sharing.tests.factories import ShareLinkFactory
from galleries.uploads import store_photo


@pytest.fixture
def shared_gallery(photo_storage):
    """A gallery with two stored photos (of different sizes) and an active share link to it."""
    gallery = GalleryFactory(name="Smith wedding")
    store_photo(gallery, jpeg_upload("IMG_0001.jpg", width=640, height=480))
    store_photo(gallery, jpeg_upload("IMG_0002.jpg", width=300, height=500, color=(20, 120, 200)))
    return ShareLinkFactory(gallery=gallery)


def fetch(response):
    """(bytes, headers) a browser ends up with: the signed URL's on S3, the streamed file's locally."""
    if response.status_code == 302:
        with urllib.request.urlopen(response["Location"], timeout=10) as remote:
            return remote.read(), remote.headers
    assert response.status_code == 200, response.status_code
    return response.getvalue(), response.headers
