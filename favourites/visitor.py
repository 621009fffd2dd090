"""Which favourites list is this visitor's: the one whose token their browser holds.

The token reaches the browser in a signed cookie scoped to the share link's path, set when the
visitor starts a list, or when they confirm a personal resume link on another device (a token
in a URL never sets the cookie by itself: no one can plant a list on someone else's browser).
"""

from favourites.models import FavouriteList
from sharing.access import set_link_cookie

COOKIE = "viewport_favourites"
SALT = "favourites.visitor"
MAX_AGE = 180 * 24 * 60 * 60  # a wedding's choosing can take months


def visitor_token(request):
    return request.get_signed_cookie(COOKIE, default="", salt=SALT, max_age=MAX_AGE)


def visitor_list(request, link):
    """The visitor's list on `link`, or None."""
    lists = FavouriteList.objects.with_token(visitor_token(request)).filter(link=link)
    return lists.select_related("link__favourites_settings").first()


def remember_list(response, link, token):
    set_link_cookie(response, link, COOKIE, token, SALT, MAX_AGE)
