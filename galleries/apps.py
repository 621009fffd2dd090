from django.apps import AppConfig
from django.conf import settings

from galleries import images


class GalleriesConfig(AppConfig):
    name = "galleries"

    def ready(self):
        images.limit_concurrent_decodes(settings.VIEWPORT_CONCURRENT_DECODES)
        from galleries import signals  # noqa: F401  (connects the storage cleanup receivers)
