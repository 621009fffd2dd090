"""The photographer's dashboard: per gallery its photos, active links, views this week and the
favourites lists waiting to be seen, in a few queries whatever the number of galleries."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from favourites.models import FavouriteList
from favourites.tests.factories import FavouritesLinkFactory
from galleries.tests.factories import GalleryFactory, PhotoFactory
from sharing.models import LinkDay
from sharing.tests.factories import ShareLinkFactory

pytestmark = pytest.mark.django_db


def card(page, gallery):
    """The text of the gallery's card on the dashboard."""
    start = page.index(f'href="{gallery.get_absolute_url()}"')
    return page[start : page.index("</li>", start)]


def submitted_list(link, name, when):
    return FavouriteList.objects.create(link=link, name=name, token_hash=f"{name}-{link.pk}", submitted_at=when)


def test_each_gallery_shows_photos_active_links_views_this_week_and_favourites_to_see(client):
    owner = UserFactory()
    wedding = GalleryFactory(owner=owner, name="Wedding")
    PhotoFactory.create_batch(3, gallery=wedding)
    link = FavouritesLinkFactory(gallery=wedding)
    ShareLinkFactory(gallery=wedding, is_active=False)  # paused: not active
    ShareLinkFactory(gallery=wedding, expires_at=timezone.now() - timedelta(days=1))  # expired
    today = timezone.localdate()
    LinkDay.objects.create(link=link, day=today, views=5)
    LinkDay.objects.create(link=link, day=today - timedelta(days=6), views=2)
    LinkDay.objects.create(link=link, day=today - timedelta(days=7), views=100)  # last week
    submitted_list(link, "Ana", timezone.now())
    FavouriteList.objects.create(link=link, name="Ben", token_hash="ben")  # still choosing
    empty = GalleryFactory(owner=owner, name="Empty")
    client.force_login(owner)

    page = client.get(reverse("galleries:gallery_list")).text
    wedding_card = card(page, wedding)
    assert "<dt>Photos</dt><dd>3</dd>" in wedding_card
    assert "<dt>Active links</dt>" in wedding_card and ">1</a></dd>" in wedding_card
    assert "<dt>Views this week</dt><dd>7</dd>" in wedding_card
    favourites_url = reverse("favourites:gallery_favourites", args=[wedding.pk])
    assert f'<a href="{favourites_url}">1 new</a>' in wedding_card
    assert "<dt>Favourites to see</dt><dd>0</dd>" in card(page, empty)

    # Seen once the photographer opens the gallery's favourites; a list sent again waits again.
    client.get(favourites_url)
    assert "<dt>Favourites to see</dt><dd>0</dd>" in card(client.get(reverse("galleries:gallery_list")).text, wedding)
    FavouriteList.objects.filter(name="Ana").update(submitted_at=timezone.now() + timedelta(seconds=1))
    assert "1 new" in card(client.get(reverse("galleries:gallery_list")).text, wedding)


def test_the_dashboards_queries_do_not_grow_with_galleries(client, django_assert_max_num_queries):
    owner = UserFactory()
    client.force_login(owner)
    for n in range(2):
        FavouritesLinkFactory(gallery=GalleryFactory(owner=owner, name=f"G{n}"))
    client.get(reverse("galleries:gallery_list"))
    with django_assert_max_num_queries(8) as few:
        client.get(reverse("galleries:gallery_list"))
    for n in range(10):
        FavouritesLinkFactory(gallery=GalleryFactory(owner=owner, name=f"More {n}"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("galleries:gallery_list"))
