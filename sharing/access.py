"""What a request under /s/<share_id>/ may see: the one place that decides.

Every public view, thumbnail, download and ZIP gets its link and photos from here, so a rule
about links (unknown, expired) is written once and no route can skip it.
"""

from functools import wraps

from django.http import Http404
from django.shortcuts import get_object_or_404, render

from galleries.models import Photo
from sharing.models import ShareLink


class LinkClosed(Exception):
    """The link exists but shows nothing now; `status` and `template` are the answer."""

    def __init__(self, status, template):
        super().__init__(template)
        self.status = status
        self.template = template


def shared_link(request, share_id, *related):
    """The share link, if this request may see it: unknown is a 404, expired a 410."""
    links = ShareLink.objects.select_related(*related) if related else ShareLink.objects
    link = get_object_or_404(links, pk=share_id)
    if link.is_expired:
        raise LinkClosed(410, "sharing/link_expired.html")
    return link


def shared_photo(request, share_id, photo_id):
    """(link, photo) for a photo of the link's gallery; any other photo is a 404."""
    link = shared_link(request, share_id)
    photo = Photo.objects.filter(pk=photo_id, gallery_id=link.gallery_id).first()
    if photo is None:
        raise Http404("No such photo in this gallery.")
    return link, photo


def public_view(view):
    """Wrap a view under /s/: a closed link gets its friendly page with its status, an unknown
    one the not-found page. No public answer may be indexed, and none may leak the link's
    address to other sites through the Referer header."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except LinkClosed as closed:
            response = render(request, closed.template, status=closed.status)
        except Http404:
            response = render(request, "sharing/link_not_found.html", status=404)
        response["X-Robots-Tag"] = "noindex, nofollow"
        response["Referrer-Policy"] = "no-referrer"
        return response

    return wrapper
