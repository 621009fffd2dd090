"""A photo's files as a page asks for them: srcset lists of its sizes."""

from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag
def srcset(photo, format, views, *args, up_to=None):
    """The photo's files in `format` ("webp" or "jpg") as a srcset: each one's URL and width.

    `views` names the views that serve them, "sharing:public" or "galleries:photo": the sizes
    come from `<views>_size` (with `args` and the size's name), the JPEG thumbnail and preview
    from `<views>_thumbnail` and `<views>_preview` (with `args`). `up_to` leaves out the files
    whose long edge is longer (a tile never needs the 2048 px preview).
    """
    candidates = []
    sizes = None  # the sizes' URLs differ only in their last part: reversed once
    for name, width in photo.srcset(format, up_to):
        if name in ("thumbnail", "preview"):
            url = reverse(f"{views}_{name}", args=args)
        else:
            sizes = sizes or reverse(f"{views}_size", args=[*args, "-"])[:-1]
            url = sizes + name
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
