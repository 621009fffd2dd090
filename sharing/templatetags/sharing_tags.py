import functools
import posixpath
import re
from datetime import timedelta
from pathlib import Path

from django import template
from django.conf import settings
from django.contrib.staticfiles import finders
from django.db.models import Count, Sum
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from galleries.images import PREVIEW_SIZE, SIZES, fit_within
from sharing import access, extensions, stats
from sharing.forms import ShareLinkForm
from sharing.models import LinkDay, LinkDefaults, ShareLink, mark_being_guessed

register = template.Library()


@register.simple_tag(takes_context=True)
def stylesheet(context, path):
    """The stylesheet at `path` (under static/) for a client's page: inline, in a <style> with the
    request's CSP nonce, so that a phone paints the page without waiting for a second request
    (Lighthouse's slow 4G: ~250 ms; docs/PERFORMANCE.md, issue 25). A page drawn without a
    request (the error pages) has no nonce and links the file instead."""
    nonce = context.get("csp_nonce")  # a lazy nonce, false until first used
    if nonce is None:
        return format_html('<link rel="stylesheet" href="{}">', static(path))
    return format_html('<style nonce="{}">{}</style>', str(nonce), mark_safe(inline_css(path)))


def inline_css(path):
    return _read_css(path) if settings.DEBUG else _cached_css(path)


def _read_css(path):
    """The stylesheet's text, with each relative url() (the fonts) made a static URL: inline,
    it is read from the page's address, and in production the URL is the file's hashed name."""
    folder = posixpath.dirname(path)

    def absolute(match):
        return f'url("{static(posixpath.normpath(posixpath.join(folder, match.group(1))))}")'

    css = Path(finders.find(path)).read_text()
    return re.sub(r'url\("(?!data:|/|https?:)([^"]+)"\)', absolute, css)


_cached_css = functools.cache(_read_css)


@register.simple_tag(takes_context=True)
def share_url(context, link):
    """The share link's full public URL, as the photographer sends it to a client."""
    return context["request"].build_absolute_uri(link.get_absolute_url())


@register.simple_tag(takes_context=True)
def link_preview_image(context, link, photo):
    """The photo as chat apps show a pasted link (og:image): a JPEG about 1080 px wide (its 1080 px
    size, else its preview), at a full URL under the link, so that the link's rules apply to it."""
    name = "1080.jpg" if "1080.jpg" in photo.size_keys else None
    if name:
        path, long_edge = reverse("sharing:public_size", args=[link.pk, photo.pk, name]), SIZES[name][0]
    else:
        path, long_edge = reverse("sharing:public_preview", args=[link.pk, photo.pk]), PREVIEW_SIZE
    width, height = fit_within((photo.width or 3, photo.height or 2), long_edge)
    return {"url": context["request"].build_absolute_uri(path), "width": width, "height": height}


@register.inclusion_tag("sharing/_share_links.html", takes_context=True)
def share_links_panel(context, gallery):
    """The gallery's share links and the form for a new one, on the photographer's gallery page."""
    return {
        "request": context["request"],
        "gallery": gallery,
        "share_links": mark_being_guessed(stats.with_sparklines(gallery.share_links.with_extensions())),
        "share_link_form": ShareLinkForm(
            auto_id="new-link-%s", instance=ShareLink(gallery=gallery), defaults=LinkDefaults.of(gallery.owner)
        ),
    }


@register.simple_tag
def with_sharing_summary(galleries):
    """Give each of the dashboard's galleries `active_links` and `views_this_week` (the last 7
    days, today included), in two queries for the whole page."""
    ids = [gallery.pk for gallery in galleries]
    active = dict(
        ShareLink.objects.active()
        .filter(gallery__in=ids)
        .values_list("gallery")
        .annotate(count=Count("pk"))
        .values_list("gallery", "count")
    )
    since = timezone.localdate() - timedelta(days=6)
    views = dict(
        LinkDay.objects.filter(link__gallery__in=ids, day__gte=since)
        .values_list("link__gallery")
        .annotate(views=Sum("views"))
        .values_list("link__gallery", "views")
    )
    for gallery in galleries:
        gallery.active_links = active.get(gallery.pk, 0)
        gallery.views_this_week = views.get(gallery.pk, 0)
    return ""


@register.simple_tag
def share_link_form(link):
    """The settings form of one link among many on a page (its own field ids)."""
    return ShareLinkForm(instance=link, auto_id=f"link-{link.pk}-%s")


@register.simple_tag
def link_badges(link):
    """What other apps show on the link's card (sharing.extensions)."""
    return [badge for extension in extensions.EXTENSIONS for badge in extension.badges(link)]


# Charts: SVG drawn on the server (no script; the CSP allows no inline styles, so sizes are SVG
# attributes and colours are CSS classes). Each chart has a table of the same numbers beside it.
CHART_WIDTH, CHART_HEIGHT = 600, 160


@register.inclusion_tag("sharing/_chart.html")
def link_chart(days):
    """Views and downloads per day, as pairs of bars on a common scale."""
    top = max([1, *(max(day.views, day.zip_downloads + day.single_downloads) for day in days)])
    slot = CHART_WIDTH / max(1, len(days))
    bar = slot * 0.4
    bars = []
    for index, day in enumerate(days):
        downloads = day.zip_downloads + day.single_downloads
        views_height = round(day.views / top * CHART_HEIGHT, 1)
        downloads_height = round(downloads / top * CHART_HEIGHT, 1)
        bars.append(
            {
                "day": day.day,
                "views": day.views,
                "downloads": downloads,
                "x": round(index * slot + slot * 0.1, 1),
                "x2": round(index * slot + slot * 0.1 + bar, 1),
                "views_y": round(CHART_HEIGHT - views_height, 1),
                "views_height": views_height,
                "downloads_y": round(CHART_HEIGHT - downloads_height, 1),
                "downloads_height": downloads_height,
            }
        )
    return {"bars": bars, "bar_width": round(bar, 1), "width": CHART_WIDTH, "height": CHART_HEIGHT, "top": top}


@register.inclusion_tag("sharing/_sparkline.html")
def sparkline(values, width=90, height=20):
    """A small line of daily views (oldest first), with its total for screen readers."""
    top = max([1, *values])
    step = width / max(1, len(values) - 1)
    points = " ".join(
        f"{round(n * step, 1)},{round(height - 1 - value / top * (height - 2), 1)}" for n, value in enumerate(values)
    )
    return {"points": points, "total": sum(values), "days": len(values), "width": width, "height": height}


@register.simple_tag(takes_context=True)
def download_attribute(context, link):
    """`download` on a download link, except while the link's downloads need a PIN this browser
    has not typed: following the link then opens the PIN form (a download would save the form)."""
    return "" if access.needs_download_pin(context["request"], link) else "download"


@register.simple_tag
def photo_label(gallery, photo, number, count):
    """How a photo is named to clients: its file name, or, where the photographer hides file
    names (Gallery.show_filenames), its place: "Photo 3 of 40"."""
    return photo.original_filename if gallery.show_filenames else f"Photo {number} of {count}"
