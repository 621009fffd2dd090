from favourites.models import FavouritesSettings
from sharing.tests.factories import ShareLinkFactory


class FavouritesLinkFactory(ShareLinkFactory):
    """A share link whose clients may choose favourites; any favourites setting may be given
    (favourites_limit=2, favourites_title="Album selection", even favourites=False)."""

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        settings = {name: kwargs.pop(name) for name in list(kwargs) if name.startswith("favourites")}
        link = super()._create(model_class, *args, **kwargs)
        FavouritesSettings.objects.create(link=link, **{"favourites": True, **settings})
        return link
