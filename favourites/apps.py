from django.apps import AppConfig

from sharing import extensions


class FavouritesConfig(AppConfig):
    name = "favourites"

    def ready(self):
        from favourites.links import FavouritesOnLinks  # it uses the models, loaded only now

        extensions.register(FavouritesOnLinks())
