"""A photo's files as a page asks for them: srcset lists of its sizes, and the URLs each tile carries."""

import uuid
from functools import lru_cache
from urllib.parse import quote

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.http import RFC3986_SUBDELIMS

register = template.Library()

# Stand-ins for a URL's arguments: each matches both the uuid and the str path converters, and
# quoting leaves it as it is, so it can be found again in the URL that reverse() made with it.
PLACEHOLDERS = tuple(str(uuid.UUID(int=n)) for n in range(1, 5))


@lru_cache(maxsize=128)
def url_pattern(script_prefix, viewname, arg_count):
    """reverse() of `viewname` with placeholders for its arguments (one per script prefix, which
    reverse() puts in front: it comes from the request)."""
    return reverse(viewname, args=PLACEHOLDERS[:arg_count])


@register.simple_tag
def photo_url(viewname, *args):
    """What {% url viewname *args %} gives, for the URLs that every tile of a page carries: the
    URL is reversed once per view and filled in for each photo, at a third of reverse()'s cost
    or less (a page of tiles asks for hundreds). The arguments are ours (ids and size names), so they are
    not checked against the converters, only quoted as reverse() quotes them."""
    url = url_pattern(get_script_prefix(), viewname, len(args))
    for placeholder, arg in zip(PLACEHOLDERS[: len(args)], args, strict=True):
        url = url.replace(placeholder, quote(str(arg), safe=RFC3986_SUBDELIMS + "/~:@"))
    return url


@register.simple_tag
def srcset(photo, format, views, *args, up_to=None):
    """The photo's files in `format` ("webp" or "jpg") as a srcset: each one's URL and width.

    `views` names the views that serve them, "sharing:public" or "galleries:photo": the sizes
    come from `<views>_size` (with `args` and the size's name), the JPEG thumbnail and preview
    from `<views>_thumbnail` and `<views>_preview` (with `args`). `up_to` leaves out the files
    whose long edge is longer (a tile never needs the 2048 px preview).
    """
    candidates = []
    for name, width in photo.srcset(format, up_to):
        if name in ("thumbnail", "preview"):
            url = photo_url(f"{views}_{name}", *args)
        else:
            url = photo_url(f"{views}_size", *args, name)
        candidates.append(f"{url} {width}w")
    return ", ".join(candidates)


@register.simple_tag
def cover_sizes(photo, layout):
    """The `sizes` of the public page's cover in `layout` (Gallery.cover_layout): how wide
    viewport.css lays it out, so that a browser takes the file nearest that width.

    full: the window under the brand bar, cropped to fill it, so as wide as the window or as its
    height times the photo's ratio, whichever is more. split: the whole width on a phone (stacked),
    else its half of 1.15 : 1. frame: the whole photo, at most 58% of the window's height (and
    42rem) tall, within the page's gutters and the mount's padding.
    """
    width, height = photo.width or 3, photo.height or 2
    ratio = f"{width / height:.4f}"
    if layout == "split":
        return "(max-width: 48rem) 100vw, 54vw"
    if layout == "frame":
        return f"min(calc(92vw - 1.25rem), calc(58vh * {ratio}), calc(42rem * {ratio}))"
    return f"(max-aspect-ratio: {width}/{height}) calc((100vh - 4.5rem) * {ratio}), 100vw"
