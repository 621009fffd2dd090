"""A share link's settings, as the photographer sets them: label, pause, password, download rules."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from favourites.models import FavouritesSettings
from galleries.tests.factories import GalleryFactory
from sharing.models import ShareLink
from sharing.tests.factories import ShareLinkFactory

pytestmark = pytest.mark.django_db
JSON = {"Accept": "application/json"}


def post_json(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json", headers=JSON)


def settings_url(link):
    return reverse("sharing:share_link_settings", args=[link.pk])


@pytest.fixture
def owner_client(client):
    gallery = GalleryFactory()
    client.force_login(gallery.owner)
    client.gallery = gallery
    return client


def test_a_create_request_without_settings_makes_an_open_link_as_before(owner_client):
    for response in [
        owner_client.post(reverse("sharing:share_link_create", args=[owner_client.gallery.pk])),
        post_json(owner_client, reverse("sharing:share_link_create", args=[owner_client.gallery.pk]), {}),
    ]:
        assert response.status_code in (201, 302)
    for link in ShareLink.objects.all():
        assert (link.is_active, link.allow_zip, link.allow_single, link.download_size) == (True, True, True, "original")
        assert link.label == "" and not link.has_password


def test_create_with_every_setting_as_json_answers_the_link_without_its_password(owner_client):
    response = post_json(
        owner_client,
        reverse("sharing:share_link_create", args=[owner_client.gallery.pk]),
        {
            "label": "Parents",
            "password": "s3cret-pass",
            "is_active": True,
            "allow_zip": False,
            "allow_single": True,
            "download_size": "web",
            "expires_in_days": 30,
        },
    )
    assert response.status_code == 201
    body = response.json()
    link = ShareLink.objects.get()
    assert body == {
        "id": str(link.pk),
        "url": f"http://testserver/s/{link.pk}/",
        "label": "Parents",
        "expires_at": link.expires_at.isoformat(),
        "is_active": True,
        "has_password": True,
        "has_download_pin": False,
        "require_email": False,
        "allow_zip": False,
        "allow_single": True,
        "download_size": "web",
        "watermark": False,
        "strip_location": True,
        "remind_days": 3,
        "favourites": True,
        "favourites_limit": None,
        "favourites_title": "Favourites",
        "favourites_require_email": False,
        "favourites_comments": False,
        "failed_unlocks_last_hour": 0,
        "failed_unlock_networks_last_hour": 0,
        "under_guessing_attack": False,
    }
    assert "s3cret-pass" not in response.content.decode() and link.password_hash not in response.content.decode()
    assert link.check_password("s3cret-pass")


def test_a_form_that_shows_the_settings_posts_them_all_so_an_unticked_box_is_off(owner_client):
    page = owner_client.get(reverse("galleries:gallery_sharing", args=[owner_client.gallery.pk])).text
    assert '<input type="hidden" name="allow_zip" value="false"><input type="checkbox" name="allow_zip"' in page
    # As a browser posts it: each box's hidden "false", then "on" for a ticked one (the last wins).
    owner_client.post(
        reverse("sharing:share_link_create", args=[owner_client.gallery.pk]),
        {
            "label": "Planner",
            "expires_in_days": "",
            "expires_at": "",
            "password": "",
            "download_size": "original",
            "is_active": "false",
            "allow_zip": "false",
            "allow_single": ["false", "on"],
        },
    )
    link = ShareLink.objects.get()
    assert (link.label, link.is_active, link.allow_zip, link.allow_single) == ("Planner", False, False, True)


def test_a_form_post_is_the_whole_form_and_a_script_changes_a_few_settings_with_json(owner_client):
    # A new link takes the photographer's defaults for what a post leaves out (the page's form
    # posts every box: sharing/tests/test_link_defaults.py). A change posted from a form is the
    # whole form: a checkbox it leaves out is off; a script that means to change a few sends JSON.
    owner_client.post(reverse("sharing:share_link_create", args=[owner_client.gallery.pk]), {"label": "Parents"})
    link = ShareLink.objects.get()
    assert (link.label, link.is_active, link.allow_zip, link.allow_single) == ("Parents", True, True, True)
    owner_client.post(settings_url(link), {"label": "Parents"})
    link.refresh_from_db()
    assert (link.is_active, link.allow_zip, link.allow_single) == (False, False, False)
    post_json(owner_client, settings_url(link), {"is_active": True, "allow_zip": True, "allow_single": True})
    post_json(owner_client, settings_url(link), {"favourites": True, "favourites_limit": 40})
    link.refresh_from_db()
    favourites = FavouritesSettings.objects.get(link=link)
    assert (favourites.favourites, favourites.favourites_limit, link.is_active, link.allow_zip, link.allow_single) == (
        True,
        40,
        True,
        True,
        True,
    )
    post_json(owner_client, settings_url(link), {"allow_zip": False})
    link.refresh_from_db()
    assert (link.allow_zip, link.allow_single, FavouritesSettings.objects.get(link=link).favourites) == (
        False,
        True,
        True,
    )
    owner_client.post(settings_url(link), {"label": "Parents", "allow_single": "on"})
    link.refresh_from_db()
    assert (link.allow_single, link.is_active, FavouritesSettings.objects.get(link=link).favourites) == (
        True,
        False,
        False,
    )


@pytest.mark.parametrize("off", ["0", "off", "no", "false", "False", ""])
def test_a_script_turns_a_setting_off_with_any_usual_word_for_off(owner_client, off):
    # A script posting is_active=0 means to pause the link: it must not stay open.
    link = ShareLinkFactory(gallery=owner_client.gallery)
    owner_client.post(settings_url(link), {"is_active": off, "allow_zip": off, "allow_single": "on"})
    link.refresh_from_db()
    assert (link.is_active, link.allow_zip, link.allow_single) == (False, False, True)


def test_json_settings_change_only_the_keys_they_carry(owner_client):
    expires_at = timezone.now() + timedelta(days=10)
    link = ShareLinkFactory(gallery=owner_client.gallery, label="Couple", expires_at=expires_at, allow_zip=False)
    link.set_password("first-pass")
    link.save()
    response = post_json(owner_client, settings_url(link), {"is_active": False})
    assert response.status_code == 200
    link.refresh_from_db()
    assert (link.is_active, link.label, link.allow_zip, link.allow_single) == (False, "Couple", False, True)
    assert link.expires_at == expires_at and link.check_password("first-pass")
    assert response.json()["is_active"] is False and response.json()["has_password"] is True


def test_on_change_an_empty_password_keeps_it_and_password_clear_removes_it(owner_client):
    link = ShareLinkFactory(gallery=owner_client.gallery)
    link.set_password("first-pass")
    link.save()
    owner_client.post(
        settings_url(link), {"label": "X", "password": "", "is_active": "on", "download_size": "original"}
    )
    link.refresh_from_db()
    assert link.check_password("first-pass")
    owner_client.post(
        settings_url(link), {"label": "X", "password": "second-pass", "is_active": "on", "download_size": "original"}
    )
    link.refresh_from_db()
    assert link.check_password("second-pass") and not link.check_password("first-pass")
    owner_client.post(
        settings_url(link), {"label": "X", "password_clear": "on", "is_active": "on", "download_size": "original"}
    )
    link.refresh_from_db()
    assert not link.has_password


def test_the_expiry_endpoint_still_changes_only_the_expiry(owner_client):
    link = ShareLinkFactory(gallery=owner_client.gallery, label="Couple", allow_zip=False, is_active=False)
    owner_client.post(reverse("sharing:share_link_update", args=[link.pk]), {"expires_in_days": "7", "expires_at": ""})
    link.refresh_from_db()
    assert link.expires_at and (link.label, link.allow_zip, link.is_active) == ("Couple", False, False)


def test_an_expired_link_can_be_paused_without_touching_its_expiry(owner_client):
    expired = timezone.now() - timedelta(days=1)
    link = ShareLinkFactory(gallery=owner_client.gallery, expires_at=expired)
    assert post_json(owner_client, settings_url(link), {"is_active": False}).status_code == 200
    link.refresh_from_db()
    assert link.expires_at == expired and not link.is_active


@pytest.mark.parametrize(
    "data, field",
    [
        ({"password": "short"}, "password"),
        ({"label": "x" * 101}, "label"),
        ({"download_size": "huge"}, "download_size"),
        ({"password": "long-enough", "password_clear": True}, "password"),
        ({"expires_at": "2001-01-01"}, "expires_at"),
        # 10000-01-01 in UTC: stored by PostgreSQL, then no query could read the link back
        ({"expires_at": "9999-12-31T23:59-14:00"}, "expires_at"),
        ({"is_active": "maybe"}, "is_active"),  # scripts say true or false
        ({"allow_zip": 0}, "allow_zip"),
    ],
)
def test_bad_settings_are_a_400_with_field_errors_and_change_nothing(owner_client, data, field):
    link = ShareLinkFactory(gallery=owner_client.gallery, label="Before")
    response = post_json(owner_client, settings_url(link), data)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    link.refresh_from_db()
    assert link.label == "Before" and not link.has_password and link.download_size == "original"
    if field in ("is_active", "allow_zip"):
        return  # a browser's ticked box may carry any value
    form_response = owner_client.post(settings_url(link), {"label": "Before", **{k: str(v) for k, v in data.items()}})
    assert form_response.status_code == 400
    assert "Settings of" in form_response.content.decode()


# The photographer's pages


def test_each_link_shows_its_label_status_rules_and_counters_on_the_gallery_sharing_view(owner_client):
    gallery = owner_client.gallery
    ShareLinkFactory(gallery=gallery, label="Parents", views=12, allow_zip=False)
    paused = ShareLinkFactory(gallery=gallery, label="Planner", is_active=False, download_size="web")
    paused.set_password("planner-pass")
    paused.save()
    ShareLinkFactory(gallery=gallery, label="Old", expires_at=timezone.now() - timedelta(days=1))
    page = owner_client.get(reverse("galleries:gallery_sharing", args=[gallery.pk])).content.decode()
    for text in [
        "Parents",
        "Planner",
        "Old",
        "Active",
        "Paused",
        "Expired",
        "Password",
        "No ZIP",
        "Web size",
        "<dd>12</dd>",
        'name="allow_zip"',
        'name="password_clear"',
    ]:
        assert text in page, text


@pytest.mark.parametrize(
    "query, expected",
    [
        ({}, {"Parents", "Planner", "Old", "Cousins"}),
        ({"status": "active"}, {"Parents", "Cousins"}),
        ({"status": "paused"}, {"Planner"}),
        ({"status": "expired"}, {"Old"}),
        ({"q": "plan"}, {"Planner"}),
        ({"q": "Smith"}, {"Cousins"}),
        ({"status": "active", "q": "par"}, {"Parents"}),
    ],
)
def test_the_share_link_list_filters_by_status_and_searches_labels_and_gallery_names(owner_client, query, expected):
    gallery = owner_client.gallery
    ShareLinkFactory(gallery=gallery, label="Parents")
    ShareLinkFactory(gallery=gallery, label="Planner", is_active=False)
    ShareLinkFactory(gallery=gallery, label="Old", expires_at=timezone.now() - timedelta(days=1))
    ShareLinkFactory(gallery=GalleryFactory(owner=gallery.owner, name="Smith wedding"), label="Cousins")
    ShareLinkFactory(label="Parents of someone else")
    response = owner_client.get(reverse("sharing:share_link_list"), query)
    shown = {link.label for link in response.context["share_links"]}
    assert shown == expected


def test_the_admin_lists_and_filters_the_new_fields(admin_client):
    ShareLinkFactory(label="Parents", is_active=False, download_size="web")
    changelist = reverse("admin:sharing_sharelink_changelist")
    page = admin_client.get(changelist).content.decode()
    assert "Parents" in page and "Web size" in page
    assert "Parents" in admin_client.get(changelist, {"status": "paused"}).content.decode()
    assert "Parents" not in admin_client.get(changelist, {"status": "active"}).content.decode()
    assert "Parents" in admin_client.get(changelist, {"download_size__exact": "web"}).content.decode()


def test_a_search_with_a_nul_character_is_no_error(owner_client):
    ShareLinkFactory(gallery=owner_client.gallery, label="Parents")
    response = owner_client.get(reverse("sharing:share_link_list"), {"q": "Par\x00ents"})
    assert response.status_code == 200
