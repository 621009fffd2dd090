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
    for name, width in photo.srcset(format, up_to):
        if name in ("thumbnail", "preview"):
            url = reverse(f"{views}_{name}", args=args)
        else:
            url = reverse(f"{views}_size", args=[*args, name])
        candidates.append(f"{url} {width}w")
    return ", ".join(candidates)
