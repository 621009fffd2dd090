from django import template

from sharing.forms import ShareLinkForm

register = template.Library()


@register.simple_tag(takes_context=True)
def share_url(context, link):
    """The share link's full public URL, as the photographer sends it to a client."""
    return context["request"].build_absolute_uri(link.get_absolute_url())


@register.inclusion_tag("sharing/_share_links.html", takes_context=True)
def share_links_panel(context, gallery):
    """The gallery's share links and the form for a new one, on the photographer's gallery page."""
    return {
        "request": context["request"],
        "gallery": gallery,
        "share_links": gallery.share_links.all(),
        "share_link_form": ShareLinkForm(auto_id="new-link-%s"),
    }


@register.simple_tag
def share_link_form(link):
    """The settings form of one link among many on a page (its own field ids)."""
    return ShareLinkForm(instance=link, auto_id=f"link-{link.pk}-%s")
