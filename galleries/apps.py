from django.apps import AppConfig


class GalleriesConfig(AppConfig):
    name = "galleries"

    def ready(self):
        from galleries import signals  # noqa: F401  (connects the storage cleanup receivers)
