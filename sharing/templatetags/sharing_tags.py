from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def share_url(context, link):
    """The share link's full public URL, as the photographer sends it to a client."""
    return context["request"].build_absolute_uri(link.get_absolute_url())
