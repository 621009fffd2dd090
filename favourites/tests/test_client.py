"""A client's favourites through the routes the contract names, JSON and plain forms."""

import io
import json
import zipfile

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.mail import unsubscribe
from accounts.models import RateLimitHit
from accounts.throttling import consume
from favourites.models import Favourite, FavouriteList, FavouritesSettings
from favourites.tests.factories import FavouritesLinkFactory
from favourites.visitor import COOKIE
from galleries.models import Gallery
from galleries.tests.factories import GalleryFactory, PhotoFactory, jpeg_upload
from galleries.uploads import store_photo
from sharing import stats
from sharing.models import ShareLink
from sharing.tests.factories import ShareLinkFactory

pytestmark = pytest.mark.django_db
JSON = {"Accept": "application/json"}


def url(name, link, *args):
    return reverse(f"favourites:{name}", args=[link.pk, *args])


def post_json(client, path, data=None):
    return client.post(path, json.dumps(data or {}), content_type="application/json", headers=JSON)


@pytest.fixture
def link(db):
    gallery = GalleryFactory(name="Smith wedding")
    for n in range(4):
        PhotoFactory(gallery=gallery, original_filename=f"IMG_{n}.jpg")
    return FavouritesLinkFactory(
        gallery=gallery, favourites=True, favourites_title="Album selection", favourites_comments=True
    )


@pytest.fixture
def photos(link):
    return list(link.gallery.photos.in_display_order())


@pytest.fixture
def visitor(client, link):
    response = post_json(client, url("favourite_list", link), {"name": "Ana", "email": "ana@example.com"})
    assert response.status_code == 201
    return client


def test_starting_a_list_answers_201_sets_a_scoped_cookie_and_mails_the_resume_link(client, link):
    response = post_json(client, url("favourite_list", link), {"name": "Ana", "email": "ana@example.com"})
    assert response.status_code == 201
    body = response.json()
    favourite_list = FavouriteList.objects.get()
    assert body == {
        "id": str(favourite_list.pk),
        "name": "Ana",
        "resume_url": body["resume_url"],
        "count": 0,
        "limit": None,
        "submitted": False,
    }
    assert body["resume_url"].startswith(settings.VIEWPORT_SITE_URL + "/s/")  # never the request's Host
    cookie = response.cookies[COOKIE]
    assert cookie["path"] == link.get_absolute_url() and cookie["httponly"] and cookie["samesite"] == "Lax"
    token = body["resume_url"].rstrip("/").rsplit("/", 1)[1]
    assert token not in favourite_list.token_hash and len(token) >= 40  # long, random, stored hashed

    [message] = mail.outbox
    assert message.to == ["ana@example.com"] and message.subject == "Your link back to your favourites"
    assert "/favourites/resume/" in message.body and token not in message.body  # a token of its own


@pytest.mark.parametrize(
    "data, field",
    [
        ({}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Ana\r\nBcc: x@example.com"}, "name"),
        ({"name": "Ana", "email": "not an address"}, "email"),
    ],
)
def test_bad_names_and_addresses_are_a_400_with_field_errors(client, link, data, field):
    response = post_json(client, url("favourite_list", link), data)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not FavouriteList.objects.exists()


def test_an_email_is_required_when_the_photographer_asks_for_one(client, link):
    FavouritesSettings.objects.filter(link=link).update(favourites_require_email=True)
    response = post_json(client, url("favourite_list", link), {"name": "Ana"})
    assert response.status_code == 400 and "email" in response.json()["fields"]


def test_hearts_comments_and_the_list(visitor, link, photos):
    first, second = photos[:2]
    assert post_json(visitor, url("favourite_add", link, first.pk)).json()["count"] == 1
    assert post_json(visitor, url("favourite_add", link, first.pk)).json()["count"] == 1  # again: no change
    post_json(visitor, url("favourite_add", link, second.pk))
    response = post_json(visitor, url("favourite_comment", link, first.pk), {"comment": "crop tighter"})
    assert response.status_code == 200
    response = post_json(visitor, url("favourite_remove", link, second.pk))
    assert response.json()["count"] == 1
    assert post_json(visitor, url("favourite_remove", link, second.pk)).status_code == 200  # idempotent

    body = visitor.get(url("favourite_list", link), headers=JSON).json()
    assert body["photos"] == [{"id": str(first.pk), "comment": "crop tighter"}]
    assert (body["name"], body["count"], body["limit"], body["submitted"]) == ("Ana", 1, None, False)


def test_someone_without_a_list_gets_404_and_cannot_touch_anothers(client, visitor, link, photos):
    post_json(visitor, url("favourite_add", link, photos[0].pk))
    stranger = type(client)()
    assert stranger.get(url("favourite_list", link), headers=JSON).status_code == 404
    for name in ("favourite_add", "favourite_remove", "favourite_comment"):
        assert post_json(stranger, url(name, link, photos[0].pk), {"comment": "x"}).status_code == 404, name
    assert post_json(stranger, url("favourite_submit", link)).status_code == 404
    assert stranger.get(url("favourite_zip", link)).status_code == 404
    # A forged cookie is no key either.
    stranger.cookies[COOKIE] = "a-guess"
    assert stranger.get(url("favourite_list", link), headers=JSON).status_code == 404
    assert Favourite.objects.count() == 1


def test_a_photo_outside_the_links_gallery_is_a_404(visitor, link):
    elsewhere = PhotoFactory()
    for name in ("favourite_add", "favourite_remove", "favourite_comment"):
        assert post_json(visitor, url(name, link, elsewhere.pk), {"comment": "x"}).status_code == 404, name
    assert not Favourite.objects.exists()


def test_the_limit_answers_409_and_saves_nothing(visitor, link, photos):
    FavouritesSettings.objects.filter(link=link).update(favourites_limit=2)
    for photo in photos[:2]:
        assert post_json(visitor, url("favourite_add", link, photo.pk)).status_code == 200
    response = post_json(visitor, url("favourite_add", link, photos[2].pk))
    assert response.status_code == 409
    assert "2 of 2" in response.json()["error"]
    response = post_json(visitor, url("favourite_comment", link, photos[3].pk), {"comment": "this one too"})
    assert response.status_code == 409
    assert Favourite.objects.count() == 2
    # Changing the comment of a chosen photo is no new choice.
    assert post_json(visitor, url("favourite_comment", link, photos[0].pk), {"comment": "ok"}).status_code == 200


def test_sending_locks_the_list_with_409_until_the_photographer_reopens_it(visitor, link, photos):
    post_json(visitor, url("favourite_add", link, photos[0].pk))
    response = post_json(visitor, url("favourite_submit", link))
    assert response.status_code == 200 and response.json()["submitted"] is True
    [notice] = [message for message in mail.outbox if link.gallery.owner.email in message.to]
    assert "Ana" in notice.subject and "1 favourite" in notice.subject

    for name in ("favourite_add", "favourite_remove"):
        response = post_json(visitor, url(name, link, photos[1].pk))
        assert response.status_code == 409 and "sent" in response.json()["error"], name
    assert post_json(visitor, url("favourite_submit", link)).status_code == 409  # again: no second notice
    assert len([m for m in mail.outbox if link.gallery.owner.email in m.to]) == 1

    FavouriteList.objects.get().reopen()
    assert post_json(visitor, url("favourite_add", link, photos[1].pk)).status_code == 200


def test_an_empty_list_cannot_be_sent(visitor, link):
    response = post_json(visitor, url("favourite_submit", link))
    assert response.status_code == 409
    assert not FavouriteList.objects.get().is_submitted


def test_several_people_on_one_link_each_have_their_own_list(client, link, photos):
    ana, ben = client, type(client)()
    post_json(ana, url("favourite_list", link), {"name": "Ana"})
    post_json(ben, url("favourite_list", link), {"name": "Ben"})
    post_json(ana, url("favourite_add", link, photos[0].pk))
    post_json(ben, url("favourite_add", link, photos[1].pk))
    assert [p["id"] for p in ana.get(url("favourite_list", link), headers=JSON).json()["photos"]] == [str(photos[0].pk)]
    assert [p["id"] for p in ben.get(url("favourite_list", link), headers=JSON).json()["photos"]] == [str(photos[1].pk)]


def test_a_resume_link_sets_the_cookie_only_once_the_visitor_confirms(client, visitor, link, photos):
    post_json(visitor, url("favourite_add", link, photos[0].pk))
    resume_url = visitor.get(url("favourite_list", link), headers=JSON).json()["resume_url"]
    path = resume_url.removeprefix(settings.VIEWPORT_SITE_URL)
    other_device = type(client)()
    page = other_device.get(path)
    assert page.status_code == 200 and "Continue as Ana" in page.content.decode()
    assert COOKIE not in page.cookies  # no list planted by merely opening a link
    assert other_device.get(url("favourite_list", link), headers=JSON).status_code == 404
    confirmed = other_device.post(path)
    assert confirmed.status_code == 302 and COOKIE in confirmed.cookies
    assert other_device.get(url("favourite_list", link), headers=JSON).json()["count"] == 1
    assert other_device.get(reverse("favourites:resume", args=[link.pk, "not-a-token"])).status_code == 404


def test_the_emailed_resume_link_works_too(client, link):
    post_json(client, url("favourite_list", link), {"name": "Ana", "email": "ana@example.com"})
    [message] = mail.outbox
    path = next(word for word in message.body.split() if "/favourites/resume/" in word).removeprefix(
        settings.VIEWPORT_SITE_URL
    )
    phone = type(client)()
    assert phone.post(path).status_code == 302
    assert phone.get(url("favourite_list", link), headers=JSON).json()["name"] == "Ana"


@pytest.mark.parametrize("state", ["off", "unknown", "expired", "paused", "locked"])
def test_every_route_obeys_the_links_access_rules(client, link, photos, state):
    expected = {"off": 404, "unknown": 404, "expired": 410, "paused": 404, "locked": 401}[state]
    if state == "off":
        FavouritesSettings.objects.filter(link=link).update(favourites=False)
    elif state == "expired":
        ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now())
    elif state == "paused":
        ShareLink.objects.filter(pk=link.pk).update(is_active=False)
    elif state == "locked":
        link.set_password("open sesame")
        link.save()
    target = ShareLinkFactory.build(pk="00000000-0000-4000-8000-000000000000") if state == "unknown" else link
    photo = photos[0]
    answers = [
        post_json(client, url("favourite_list", target), {"name": "Ana"}),
        client.get(url("favourite_list", target), headers=JSON),
        post_json(client, url("favourite_add", target, photo.pk)),
        post_json(client, url("favourite_remove", target, photo.pk)),
        post_json(client, url("favourite_comment", target, photo.pk), {"comment": "x"}),
        post_json(client, url("favourite_submit", target)),
        client.get(url("favourite_zip", target)),
        client.get(reverse("favourites:resume", args=[target.pk, "a-token"])),
    ]
    assert [answer.status_code for answer in answers] == [expected] * len(answers)
    assert not FavouriteList.objects.exists()


def test_comments_can_be_turned_off(visitor, link, photos):
    FavouritesSettings.objects.filter(link=link).update(favourites_comments=False)
    assert post_json(visitor, url("favourite_comment", link, photos[0].pk), {"comment": "x"}).status_code == 404


def test_a_long_comment_is_a_400(visitor, link, photos):
    response = post_json(visitor, url("favourite_comment", link, photos[0].pk), {"comment": "x" * 501})
    assert response.status_code == 400 and "comment" in response.json()["fields"]
    assert not Favourite.objects.exists()


# Without JavaScript


def test_without_javascript_a_heart_asks_for_a_name_then_comes_back_with_the_photo_chosen(client, link, photos):
    photo = photos[2]
    response = client.post(url("favourite_add", link, photo.pk))
    assert response.status_code == 302
    start = client.get(response["Location"])
    assert 'name="photo_id"' in start.content.decode()
    response = client.post(url("favourite_list", link), {"name": "Ana", "photo_id": str(photo.pk)})
    assert response.status_code == 302 and response["Location"].endswith(f"#tile-{photo.pk}")
    assert Favourite.objects.get().photo == photo

    page = client.get(link.get_absolute_url()).content.decode()
    assert 'aria-pressed="true"' in page  # the heart shows it
    response = client.post(url("favourite_remove", link, photo.pk), {"next": link.get_absolute_url() + "#x"})
    assert response["Location"] == link.get_absolute_url() + "#x"
    assert not Favourite.objects.exists()
    # A `next` outside the link is not followed.
    response = client.post(url("favourite_add", link, photo.pk), {"next": "https://evil.example/"})
    assert response["Location"] == link.get_absolute_url() + f"#tile-{photo.pk}"


def test_the_gallery_page_shows_hearts_count_and_limit_only_when_favourites_are_on(client, link, photos):
    FavouritesSettings.objects.filter(link=link).update(favourites_limit=40)
    page = client.get(link.get_absolute_url()).content.decode()
    assert page.count('method="post" data-heart') == len(photos) and "Album selection" in page and " of 40" in page
    FavouritesSettings.objects.filter(link=link).update(favourites=False)
    page = client.get(link.get_absolute_url()).content.decode()
    assert 'method="post" data-heart' not in page and "favourites.js" not in page


@pytest.mark.parametrize("more_photos", [0, 40])
def test_the_gallery_page_with_favourites_takes_a_fixed_number_of_queries(
    visitor, link, django_assert_num_queries, more_photos
):
    for n in range(more_photos):
        PhotoFactory(gallery=link.gallery, original_filename=f"MORE_{n}.jpg")
    for photo in link.gallery.photos.all()[:3]:
        FavouriteList.objects.get().add(photo)
    # The page's own 8 (counting the view with the visitor's hash and day row), the visitor's
    # list and hearts, and the named visitor's activity row.
    with django_assert_num_queries(11):
        assert visitor.get(link.get_absolute_url()).status_code == 200


def test_my_favourites_zip_holds_just_those_and_obeys_the_download_rules(client, photo_storage):
    gallery = GalleryFactory(name="Smith wedding")
    photos = [store_photo(gallery, jpeg_upload(f"IMG_{n}.jpg", width=64, height=48)) for n in range(3)]
    link = FavouritesLinkFactory(gallery=gallery, favourites=True)
    post_json(client, url("favourite_list", link), {"name": "Ana"})
    for photo in photos[:2]:
        post_json(client, url("favourite_add", link, photo.pk))
    response = client.get(url("favourite_zip", link))
    assert response.status_code == 200
    assert "Smith wedding - Ana.zip" in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.getvalue()))
    assert sorted(archive.namelist()) == ["IMG_0.jpg", "IMG_1.jpg"]
    link.refresh_from_db()
    assert link.zip_downloads == 1
    ShareLink.objects.filter(pk=link.pk).update(allow_zip=False)
    assert client.get(url("favourite_zip", link)).status_code == 403


def test_the_photographer_can_switch_the_notice_off(visitor, link, photos):
    owner = link.gallery.owner
    owner.notify_favourites = False
    owner.save(update_fields=["notify_favourites"])
    post_json(visitor, url("favourite_add", link, photos[0].pk))
    assert post_json(visitor, url("favourite_submit", link)).status_code == 200
    assert not [message for message in mail.outbox if owner.email in message.to]


def test_hearts_count_in_the_links_days_as_that_visitors_activity(visitor, link, photos):
    post_json(visitor, url("favourite_add", link, photos[0].pk))
    post_json(visitor, url("favourite_add", link, photos[0].pk))  # again: no second count
    visitor.get(link.get_absolute_url())
    [day] = stats.with_other_counters(list(link.days.all()))
    assert (day.favourites, day.views) == (1, 1)
    assert sorted(link.activities.values_list("event", "visitor_label")) == [("favourites", "Ana"), ("views", "Ana")]
    assert "Ana" in link.reminder_recipients() or "ana@example.com" in link.reminder_recipients()


def test_a_start_with_a_bad_photo_id_or_a_limit_of_none_still_starts_the_list(client, link, photos):
    FavouritesSettings.objects.filter(link=link).update(favourites_limit=0)
    for photo_id in ["not-a-uuid", str(PhotoFactory().pk), str(photos[0].pk)]:
        response = type(client)().post(url("favourite_list", link), {"name": "Ana", "photo_id": photo_id})
        assert response.status_code == 302, photo_id
    assert FavouriteList.objects.count() == 3 and not Favourite.objects.exists()


def test_starting_lists_is_limited_per_client_network(client, link, settings):
    settings.VIEWPORT_PROXY_COUNT = 1
    headers = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    for n in range(5):
        assert type(client)().post(url("favourite_list", link), {"name": f"Guest {n}"}, **headers).status_code == 302
    refused = type(client)().post(
        url("favourite_list", link), {"name": "Spammer", "email": "victim@example.com"}, headers=JSON, **headers
    )
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert FavouriteList.objects.count() == 5 and not mail.outbox
    other = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "192.0.2.20"}
    assert type(client)().post(url("favourite_list", link), {"name": "Ben"}, **other).status_code == 302


def test_no_number_of_networks_keeps_a_client_on_a_fresh_one_from_starting_a_list(client, link, settings):
    # Attack report 2: 5 lists from each of 12 networks turned favourites off for every client.
    settings.VIEWPORT_PROXY_COUNT = 1
    for network in range(13):
        headers = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": f"198.51.100.{network}"}
        for n in range(5):
            data = {"name": "Spammer", "email": f"victim-{network}-{n}@example.com"}
            assert type(client)().post(url("favourite_list", link), data, **headers).status_code == 302
    assert len(mail.outbox) == 60  # the resume links the link may mail in an hour
    fresh = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    data = {"name": "Ana", "email": "ana@example.com"}
    started = type(client)().post(url("favourite_list", link), data, headers=JSON, **fresh)
    assert started.status_code == 201 and started.json()["resume_url"]
    assert len(mail.outbox) == 60


def test_the_resume_link_mail_respects_unsubscribes_and_not_the_photographers_daily_limit(client, link, settings):
    owner = link.gallery.owner
    unsubscribe(owner, "gone@example.com")
    post_json(client, url("favourite_list", link), {"name": "Ana", "email": "gone@example.com"})
    assert not mail.outbox
    # The photographer used up the day's recipients; visitor mail has a count of its own (of
    # the same size), which each list takes one of.
    settings.VIEWPORT_MAIL_RECIPIENTS_PER_DAY = 2
    consume("mail-recipients", count=2, photographer=owner.pk)
    post_json(type(client)(), url("favourite_list", link), {"name": "Ben", "email": "ben@example.com"})
    post_json(type(client)(), url("favourite_list", link), {"name": "Cy", "email": "cy@example.com"})
    assert [message.to for message in mail.outbox] == [["ben@example.com"], ["cy@example.com"]]
    assert "List-Unsubscribe" in mail.outbox[0].extra_headers
    assert RateLimitHit.objects.filter(scope="mail-recipients").count() == 2


def test_a_visitor_name_from_another_link_is_not_taken(client, link, photos):
    other = ShareLinkFactory(gallery=link.gallery)
    post_json(client, url("favourite_list", link), {"name": "Ana"})
    client.cookies["viewport_visitor"]["path"] = "/"  # copied onto the other link's path
    client.get(other.get_absolute_url())
    assert not other.activities.exists()


def test_a_json_start_adds_the_photo_it_names(client, link, photos):
    post_json(client, url("favourite_list", link), {"name": "Ana", "photo_id": str(photos[1].pk)})
    assert list(Favourite.objects.values_list("photo_id", flat=True)) == [photos[1].pk]


def test_an_address_no_mail_can_go_to_is_refused(client, link):
    response = post_json(client, url("favourite_list", link), {"name": "Ana", "email": '"a\x0cb"@example.com'})
    assert response.status_code == 400 and "email" in response.json()["fields"]


def test_my_favourites_page_names_photos_as_the_gallery_does(visitor, link, photos):
    post_json(visitor, url("favourite_add", link, photos[2].pk))
    page = visitor.get(url("favourite_list", link)).text
    assert "IMG_2.jpg" not in page  # file names hidden (the default): their place in the gallery
    assert '<p class="favourite__name">Photo 3 of 4</p>' in page and 'alt="Photo 3 of 4"' in page
    Gallery.objects.filter(pk=link.gallery.pk).update(show_filenames=True)
    page = visitor.get(url("favourite_list", link)).text
    assert '<p class="favourite__name">IMG_2.jpg</p>' in page


# Found by the attack of issue 23


@pytest.mark.parametrize(
    "next_path",
    ["{link}../../x", "{link}%2e%2e/%2E%2E/x", "{link}..\\..\\x", "{link}./../../galleries/"],
)
def test_a_next_that_climbs_out_of_the_link_goes_back_to_the_gallery(visitor, link, photos, next_path):
    response = visitor.post(
        url("favourite_add", link, photos[0].pk), {"next": next_path.format(link=link.get_absolute_url())}
    )
    assert response.status_code == 302
    assert response["Location"] == link.get_absolute_url() + f"#tile-{photos[0].pk}"


def test_a_next_within_the_link_is_followed(visitor, link, photos):
    target = url("favourite_list", link)
    response = visitor.post(url("favourite_add", link, photos[0].pk), {"next": target + "?x=1#tile"})
    assert response["Location"] == target + "?x=1#tile"


def test_submitting_a_list_twice_answers_409(visitor, link, photos):
    post_json(visitor, url("favourite_add", link, photos[0].pk))
    assert post_json(visitor, url("favourite_submit", link)).status_code == 200
    again = post_json(visitor, url("favourite_submit", link))
    assert again.status_code == 409 and "sent" in again.json()["error"]


def favourites_counted(link):
    return sum(day.favourites for day in stats.with_other_counters(list(link.days.all())))


def test_the_favourites_statistic_counts_distinct_photos_per_list_whichever_route(visitor, link, photos):
    post_json(visitor, url("favourite_comment", link, photos[0].pk), {"comment": "this one"})
    assert favourites_counted(link) == 1
    for _ in range(2):  # add, remove, add again
        post_json(visitor, url("favourite_add", link, photos[1].pk))
        post_json(visitor, url("favourite_remove", link, photos[1].pk))
    post_json(visitor, url("favourite_add", link, photos[1].pk))
    post_json(visitor, url("favourite_comment", link, photos[1].pk), {"comment": "and this"})
    assert favourites_counted(link) == 2
    other = type(visitor)()
    post_json(other, url("favourite_list", link), {"name": "Ben"})
    post_json(other, url("favourite_add", link, photos[1].pk))
    assert favourites_counted(link) == 3  # the same photo in another person's list counts
