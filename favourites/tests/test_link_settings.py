"""Favourites' settings of a share link live in the favourites app (FavouritesSettings) and reach
the link's form, card and JSON through sharing.extensions; the data migration moved them there."""

import json
import re
from datetime import date

import pytest
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from favourites.models import FavouriteDay, FavouritesSettings
from favourites.tests.factories import FavouritesLinkFactory
from sharing.models import ShareLink
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


@pytest.mark.parametrize("limit", [10_001, 1_000_000_000_000])
def test_a_favourites_limit_above_10000_is_refused_and_no_link_is_made_or_changed(client, limit):
    link = ShareLinkFactory(label="Parents")
    client.force_login(link.gallery.owner)
    headers = {"Accept": "application/json"}
    create = reverse("sharing:share_link_create", args=[link.gallery.pk])

    created = client.post(create, {"favourites_limit": limit}, "application/json", headers=headers)
    changed = client.post(
        reverse("sharing:share_link_settings", args=[link.pk]),
        {"label": "Planner", "favourites_limit": limit},
        "application/json",
        headers=headers,
    )
    page = client.post(create, {"favourites": "on", "favourites_limit": limit})

    assert created.status_code == changed.status_code == page.status_code == 400
    assert "favourites_limit" in created.json()["fields"] and "favourites_limit" in changed.json()["fields"]
    assert "Ensure this value is less than or equal to 10000." in page.text
    assert list(ShareLink.objects.values_list("label", flat=True)) == ["Parents"]
    assert client.post(create, {"favourites_limit": 10_000}, "application/json", headers=headers).status_code == 201


def test_a_link_whose_favourites_fail_to_save_is_neither_made_nor_changed(client, monkeypatch):
    link = ShareLinkFactory(label="Parents")
    client.force_login(link.gallery.owner)

    def fail(self):
        raise DatabaseError("the favourites could not be saved")

    monkeypatch.setattr(FavouritesSettings, "save", fail)
    with pytest.raises(DatabaseError):
        client.post(reverse("sharing:share_link_create", args=[link.gallery.pk]), {"label": "Planner"})
    with pytest.raises(DatabaseError):
        client.post(reverse("sharing:share_link_settings", args=[link.pk]), {"label": "Planner", "is_active": "on"})

    assert list(ShareLink.objects.values_list("label", flat=True)) == ["Parents"]  # no open link without them


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
