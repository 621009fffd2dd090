"""Favourites' settings of a share link live in the favourites app (FavouritesSettings) and reach
the link's form, card and JSON through sharing.extensions; the data migration moved them there."""

import json
import re
from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from favourites.models import FavouriteDay, FavouritesSettings
from favourites.tests.factories import FavouritesLinkFactory
from sharing.tests.factories import ShareLinkFactory

pytestmark = pytest.mark.django_db


def test_the_links_card_and_settings_form_show_its_favourites(client):
    link = FavouritesLinkFactory(favourites_title="Album selection", favourites_limit=40)
    plain = ShareLinkFactory(gallery=link.gallery)
    client.force_login(link.gallery.owner)

    page = client.get(reverse("galleries:gallery_sharing", args=[link.gallery.pk])).content.decode()

    assert page.count("♥ Album selection (up to 40)") == 1  # the plain link has no badge
    limit = re.search(rf'<input[^>]*id="link-{link.pk}-favourites_limit"[^>]*>', page).group()
    assert 'value="40"' in limit
    assert re.search(rf'<input[^>]*id="link-{plain.pk}-favourites"', page)  # every link's form has the fields
    assert '<legend class="visually-hidden">Favourites</legend>' in page


def test_a_link_without_settings_has_the_defaults_and_saving_its_form_stores_them(client):
    link = ShareLinkFactory()
    client.force_login(link.gallery.owner)
    url = reverse("sharing:share_link_settings", args=[link.pk])
    headers = {"Accept": "application/json"}

    body = client.post(
        url, json.dumps({"favourites": True, "favourites_title": ""}), "application/json", headers=headers
    ).json()

    assert (body["favourites"], body["favourites_title"], body["favourites_limit"]) == (True, "Favourites", None)
    assert FavouritesSettings.objects.get(link=link).favourites


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_each_links_favourites_settings_and_days_into_the_app():
    before = [("favourites", "0001_initial"), ("sharing", "0004_link_favourites")]
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    owner = old.get_model("accounts", "User").objects.create(email="lena@example.com", password="x")
    gallery = old.get_model("galleries", "Gallery").objects.create(owner=owner, name="Smith wedding")
    ShareLink, LinkDay = old.get_model("sharing", "ShareLink"), old.get_model("sharing", "LinkDay")
    choosing = ShareLink.objects.create(
        gallery=gallery, favourites=True, favourites_limit=40, favourites_title="Album", favourites_comments=True
    )
    plain = ShareLink.objects.create(gallery=gallery)
    LinkDay.objects.create(link=choosing, day=date(2026, 11, 2), views=4, favourites=3)
    LinkDay.objects.create(link=plain, day=date(2026, 11, 2), views=1)

    MigrationExecutor(connection).migrate(latest)

    moved = FavouritesSettings.objects.get(link_id=choosing.pk)
    assert (moved.favourites, moved.favourites_limit, moved.favourites_title, moved.favourites_comments) == (
        True,
        40,
        "Album",
        True,
    )
    assert not FavouritesSettings.objects.get(link_id=plain.pk).favourites
    assert list(FavouriteDay.objects.values_list("link_id", "day", "favourites")) == [
        (choosing.pk, date(2026, 11, 2), 3)
    ]
