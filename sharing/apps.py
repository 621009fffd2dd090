from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"

    def ready(self):
        from sharing import signals  # noqa: F401  (has full-size JPEGs and watermarked copies made for links that hand them out)
