"""What the sharing tests ask of a share link again and again."""

from django.urls import reverse


def public_urls(link_id, photo_id):
    """Every URL a client of the link can reach, by what it is, with one of its photos where one
    is needed (ids: the link may be unknown, the photo another gallery's)."""
    page = reverse("sharing:public_gallery", args=[link_id])
    return {
        "page": page,
        "later tiles": page + "?page=1&partial=1",
        "photo page": reverse("sharing:public_photo", args=[link_id, photo_id]),
        "thumbnail": reverse("sharing:public_thumbnail", args=[link_id, photo_id]),
        "preview": reverse("sharing:public_preview", args=[link_id, photo_id]),
        "size for srcset": reverse("sharing:public_size", args=[link_id, photo_id, "320.webp"]),
        "download": reverse("sharing:photo_download", args=[link_id, photo_id]),
        "zip": reverse("sharing:zip_download", args=[link_id]),
    }


def counters(link):
    """The link's views, ZIP downloads and single downloads, as stored now."""
    link.refresh_from_db()
    return link.views, link.zip_downloads, link.single_downloads
