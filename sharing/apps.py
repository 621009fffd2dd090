from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"

    def ready(self):
        from sharing import signals  # noqa: F401  (has full-size JPEGs made for links that hand them out)
