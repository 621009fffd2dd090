import factory

from galleries.tests.factories import GalleryFactory
from sharing.models import ShareLink


class ShareLinkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShareLink

    gallery = factory.SubFactory(GalleryFactory)
    expires_at = None
