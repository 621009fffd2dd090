"""Favourites drawn on pages of other apps: hearts on the client's gallery, a summary on the
photographer's gallery page."""

from dataclasses import dataclass, field

from django import template
from django.db.models import Count, Q
from django.middleware.csrf import get_token

from favourites.models import FavouriteList, FavouritesSettings
from favourites.visitor import visitor_list
from sharing.access import registered_visitor

register = template.Library()


@dataclass
class VisitorFavourites:
    link: object
    settings: FavouritesSettings
    favourite_list: FavouriteList | None
    comments: dict = field(default_factory=dict)  # photo id → comment, for the chosen photos
    registered: object = None  # who the visitor said they are, on a link that asks (sharing.access.Visitor)
    csrf_secret: str = ""

    @property
    def cache_key(self):
        """What this visitor's hearts on a cached page of tiles depend on: the link's favourites
        settings, their choice and comments, and their CSRF secret (each heart is a form)."""
        settings = (self.settings.favourites_title, self.settings.favourites_comments, self.settings.favourites_limit)
        return [*settings, self.csrf_secret, sorted((str(photo), comment) for photo, comment in self.comments.items())]

    def __contains__(self, photo):
        return photo.pk in self.comments

    @property
    def count(self):
        return len(self.comments)


@register.simple_tag
def with_favourites_waiting(galleries):
    """Give each of the dashboard's galleries `favourites_waiting`: lists submitted since the
    photographer last looked (one query for the page)."""
    waiting = dict(
        FavouriteList.objects.waiting()
        .filter(link__gallery__in=[gallery.pk for gallery in galleries])
        .values_list("link__gallery")
        .annotate(count=Count("pk"))
        .values_list("link__gallery", "count")
    )
    for gallery in galleries:
        gallery.favourites_waiting = waiting.get(gallery.pk, 0)
    return ""


@register.simple_tag(takes_context=True)
def visitor_favourites(context, link):
    """The visitor's favourites on the page's link, or None when the link has none. Two
    queries, once per request however often a page asks (its bar, then its tiles)."""
    settings = FavouritesSettings.of(link)
    if not settings.favourites:
        return None
    request = context["request"]
    if getattr(request, "visitor_favourites", None) is None:
        favourite_list = visitor_list(request, link)
        comments = dict(favourite_list.favourites.values_list("photo_id", "comment")) if favourite_list else {}
        registered = registered_visitor(request, link)
        get_token(request)  # the hearts' forms need one; it also sets the secret below
        request.visitor_favourites = VisitorFavourites(
            link, settings, favourite_list, comments, registered, csrf_secret=request.META["CSRF_COOKIE"]
        )
    return request.visitor_favourites


@register.inclusion_tag("favourites/_heart.html")
def heart(favourites, photo, label=None):
    """`label` names the photo to a screen reader ("Photo 3 of 40" where file names are hidden)."""
    return {
        "photo": photo,
        "label": label or photo.original_filename,
        "link": favourites.link,
        "chosen": photo in favourites,
        "comment": favourites.comments.get(photo.pk, ""),
    }


@register.inclusion_tag("favourites/_summary.html")
def favourites_summary(gallery):
    """How many people chose photos in the gallery, with a way to their choices."""
    counts = FavouriteList.objects.of_gallery(gallery).aggregate(
        list_count=Count("pk"), submitted_count=Count("pk", filter=Q(submitted_at__isnull=False))
    )
    return {"gallery": gallery, **counts}
