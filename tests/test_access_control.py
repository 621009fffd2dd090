"""Who reaches what: every URL of the site, walked from the URLconf so a new one is caught.

A URL that is in none of the classes below fails `test_every_url_is_classified`: decide who may
reach it, add it to a class, and the matrix tests cover it from then on.
"""

import re
import uuid
import zipfile
from io import BytesIO

import pytest
from django.core.files.storage import default_storage
from django.urls import URLResolver, get_resolver, reverse

from accounts.tests.factories import UserFactory
from galleries.models import Gallery, Photo, PhotoSet
from galleries.tests.factories import GalleryFactory, jpeg_upload
from sharing.models import ShareLink

pytestmark = pytest.mark.django_db

# Anyone, signed in or not.
PUBLIC = {
    "home",
    "healthz",
    "robots",
    "accounts:signup",
    "accounts:login",
    "accounts:logout",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
    "unsubscribe",
    "accounts:challenge",
    "accounts:confirm_email",
    # A photographer's brand (stylesheet, logo): what clients see on their shared pages anyway.
    "accounts:brand_css",
    "accounts:brand_logo",
}
# Signed-in photographers; no object in the URL, each sees only their own things.
SIGNED_IN = {
    "galleries:gallery_list",
    "sharing:share_link_list",
    "accounts:profile",
    "accounts:branding",
    "accounts:watermark",
    "accounts:watermark_preview",
    "accounts:watermark_image",
    "sharing:link_defaults",
    "accounts:password_change",
    "accounts:password_change_done",
    "accounts:confirm_email_resend",
}
# One photographer's gallery, photo or share link: anyone else gets a 404.
OWNED = {
    "galleries:gallery_detail",
    "galleries:gallery_sharing",
    "galleries:gallery_settings",
    "galleries:gallery_rename",
    "galleries:gallery_delete",
    "galleries:gallery_cover",
    "galleries:gallery_sort",
    "galleries:gallery_presentation",
    "galleries:set_create",
    "galleries:set_order",
    "galleries:set_rename",
    "galleries:set_delete",
    "galleries:photo_upload",
    "galleries:upload_start",
    "galleries:upload_status",
    "galleries:upload_complete",
    "galleries:upload_dismiss",
    "galleries:photo_delete",
    "galleries:photo_move",
    "galleries:photo_order",
    "galleries:photo_thumbnail",
    "galleries:photo_preview",
    "galleries:photo_size",
    "galleries:photo_download",
    "sharing:photos_zip",
    "sharing:share_link_create",
    "sharing:share_link_update",
    "sharing:share_link_settings",
    "sharing:share_link_delete",
    "sharing:share_link_detail",
    "sharing:share_link_stats_csv",
    "sharing:share_link_send",
    "sharing:share_link_visitors_csv",
    "favourites:gallery_favourites",
    "favourites:favourites_csv",
    "favourites:favourites_filenames",
    "favourites:favourites_zip",
    "favourites:list_reopen",
    "favourites:list_close",
    "favourites:list_delete",
}
# Whoever holds an active share link, for that link's gallery only.
SHARED = {
    "sharing:public_gallery",
    "sharing:zip_download",
    "sharing:set_zip_download",
    "sharing:public_photo",
    "sharing:public_thumbnail",
    "sharing:public_preview",
    "sharing:public_size",
    "sharing:photo_download",
    "sharing:download_pin",
}
# A share link's own forms, which only answer POST (the password form, a client's favourites).
SHARED_FORMS = {
    "sharing:unlock",
    "sharing:register",
    "favourites:favourite_add",
    "favourites:favourite_remove",
    "favourites:favourite_comment",
    "favourites:favourite_submit",
}
# A client's own favourites on a share link: only with favourites turned on (404 otherwise),
# and only the visitor's own list (by their cookie).
FAVOURITES = {"favourites:favourite_list", "favourites:favourite_zip", "favourites:resume"}
# The parts of a resumable upload on local storage: PUT to a URL signed for that part (made by
# upload_start for the gallery's owner), like S3's; nothing else answers.
SIGNED_PUTS = {"galleries:upload_part"}
# A metrics scraper with VIEWPORT_METRICS_TOKEN (tests/test_metrics.py); no such page while none
# is configured, as here.
METRICS = {"metrics"}
# Everything under the admin site: staff only.
STAFF_NAMESPACE = "admin"


def url_patterns(patterns=None, prefix="", namespace=""):
    """(qualified name or None, route) for every pattern of the URLconf, resolvers flattened."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
            yield name, namespace, prefix + str(pattern.pattern)


def build_url(route, values):
    """A concrete path for a route: `<uuid:gallery_id>` and `(?P<url>.*)` filled from `values`."""
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), route)
    return "/" + route.replace("^", "").replace("$", "")


def all_urls(world):
    values = {
        "gallery_id": world.gallery.pk,
        "photo_id": world.photo.pk,
        "set_id": world.photo_set.pk,
        "link_id": world.link.pk,
        "share_id": world.link.pk,
        "uidb64": "MQ",
        "token": "set-password",
        "object_id": world.gallery.pk,
        "id": world.owner.pk,
        "content_type_id": 1,
        "app_label": "galleries",
        "url": "no-such-page/",
        "list_id": world.gallery.pk,
        "photographer_id": world.owner.pk,
        "version": "v1",
        "upload_id": world.upload.pk,
        "name": "320.webp",
    }
    return [(name, namespace, build_url(route, values)) for name, namespace, route in url_patterns()]


def login_redirect(response, admin=False):
    if response.status_code != 302:
        return False
    target = reverse("admin:login") if admin else reverse("accounts:login")
    return response["Location"].startswith(target) or (admin and response["Location"] == reverse("admin:index"))


def test_every_url_is_classified():
    classified = PUBLIC | SIGNED_IN | OWNED | SHARED | SHARED_FORMS | FAVOURITES | METRICS | SIGNED_PUTS
    unclassified = [
        route for name, namespace, route in url_patterns() if namespace != STAFF_NAMESPACE and name not in classified
    ]
    assert unclassified == [], "Add these URLs to a class in tests/test_access_control.py"
    names = {name for name, _, _ in url_patterns()}
    assert classified <= names, f"Classified URLs that no longer exist: {sorted(classified - names)}"


def test_anonymous_visitors_reach_only_public_pages_share_links_and_the_login(client, s3_world):
    for name, namespace, url in all_urls(s3_world):
        response = client.get(url)
        if response.streaming:  # read, as a client does: a ZIP left streaming holds one of its network's streams
            b"".join(response.streaming_content)
        if namespace == STAFF_NAMESPACE:
            expected = response.status_code == 200 if name == "admin:login" else login_redirect(response, admin=True)
        elif name in PUBLIC:
            # Logging out only answers POST; the made-up unsubscribe token is not valid (404), nor
            # the made-up confirmation token (400); the world's photographer has no logo (404);
            # everything else is a page for anyone.
            answers = {
                "accounts:logout": 405,
                "unsubscribe": 404,
                "accounts:confirm_email": 400,
                "accounts:brand_logo": 404,
            }
            expected = response.status_code == answers.get(name, 200)
        elif name in SHARED:
            expected = response.status_code in (200, 302)
        elif name in SHARED_FORMS:
            expected = response.status_code == 405
        elif name in FAVOURITES:
            expected = response.status_code == 404  # favourites are off on the world's links
        elif name in METRICS:
            expected = response.status_code == 404
        elif name in SIGNED_PUTS:
            expected = response.status_code == 405
            assert client.put(url, b"x").status_code == 403, url  # a made-up signature
        else:
            expected = login_redirect(response)
            post = client.post(url, {"name": "pwned", "photo_ids": [str(s3_world.photo.pk)]})
            assert login_redirect(post), f"anonymous POST {url} ({name}) answered {post.status_code}"
        assert expected, f"anonymous GET {url} ({name}) answered {response.status_code}"
    assert Gallery.objects.filter(pk=s3_world.gallery.pk, name="Smith wedding").exists()
    assert s3_world.gallery.photos.count() == 2


def test_another_photographer_gets_404_on_everything_of_the_first(client, s3_world):
    world = s3_world
    keys_before = sorted(default_storage.list_keys(f"{world.gallery.pk}/"))
    client.force_login(world.intruder)
    own_gallery = GalleryFactory(owner=world.intruder, name="Intruder's own")
    post_data = {
        "name": "pwned",
        "photo_ids": [str(world.photo.pk)],
        "photo_id": str(world.photo.pk),
        "expires_in_days": "7",
        "photos": [jpeg_upload("evil.jpg")],
        "sort": "manual",
        "set_ids": [str(world.photo_set.pk)],
        "set_id": str(world.photo_set.pk),
    }
    checked = 0
    for name, _namespace, url in all_urls(world):
        if name not in OWNED:
            continue
        # A view may refuse a method before looking anything up (405): that leaks nothing. Every
        # other answer, to the methods it does take, is a 404.
        statuses = [client.get(url).status_code, client.post(url, post_data).status_code]
        assert set(statuses) <= {404, 405} and 404 in statuses, f"{url} ({name}) answered {statuses}"
        checked += 1
    assert checked == len(OWNED)

    # Someone else's photo through one's own gallery's URLs is no way in either.
    for view in ("photo_thumbnail", "photo_preview", "photo_download"):
        url = reverse(f"galleries:{view}", args=[own_gallery.pk, world.photo.pk])
        assert client.get(url).status_code == 404, url
    assert (
        client.post(
            reverse("galleries:gallery_cover", args=[own_gallery.pk]), {"photo_id": str(world.photo.pk)}
        ).status_code
        == 400
    )
    own_gallery.refresh_from_db()
    assert own_gallery.cover_photo_id is None

    # Pages without an object in the URL list only the intruder's own things.
    for name in SIGNED_IN:
        response = client.get(reverse(name))
        assert response.status_code == (404 if name == "accounts:watermark_image" else 200), name  # they have none
        content = response.content.decode(errors="replace")  # the watermark's preview is a JPEG
        for secret in ("Smith wedding", "Private portfolio", str(world.gallery.pk), str(world.link.pk)):
            assert secret not in content, f"{name} shows {secret}"

    world.gallery.refresh_from_db()
    assert world.gallery.name == "Smith wedding"
    assert world.gallery.cover_photo_id is None
    assert world.gallery.sort == "capture_time"
    assert [(s.name, s.photo_count) for s in world.gallery.sets.with_photo_counts()] == [("Ceremony", 1)]
    assert world.gallery.photos.filter(photo_set=None).count() == 1
    assert world.gallery.photos.count() == 2
    assert ShareLink.objects.get(pk=world.link.pk).expires_at is None
    assert ShareLink.objects.filter(gallery=world.gallery).count() == 2
    assert sorted(default_storage.list_keys(f"{world.gallery.pk}/")) == keys_before


def test_the_owner_reaches_every_dashboard_url_of_their_own(client, s3_world):
    client.force_login(s3_world.owner)
    for name, _namespace, url in all_urls(s3_world):
        if name in OWNED | SIGNED_IN:
            response = client.get(url)
            # The selection's ZIP with nothing selected says so; the world's photographer has no watermark image.
            answers = {"sharing:photos_zip": (200, 302, 405, 400), "accounts:watermark_image": (404,)}
            assert response.status_code in answers.get(name, (200, 302, 405)), (
                f"{url} ({name}) answered {response.status_code}"
            )
            if response.status_code == 302:
                assert not login_redirect(response), name


def shared_urls(link, photo, photo_set=None):
    yield reverse("sharing:public_gallery", args=[link.pk])
    yield reverse("sharing:zip_download", args=[link.pk])
    yield reverse("sharing:set_zip_download", args=[link.pk, photo_set.pk if photo_set else uuid.uuid4()])
    yield from photo_urls(link, photo)
    yield reverse("sharing:download_pin", args=[link.pk])


def photo_urls(link, photo):
    for view in ("public_photo", "public_thumbnail", "public_preview", "photo_download"):
        yield reverse(f"sharing:{view}", args=[link.pk, photo.pk])
    yield reverse("sharing:public_size", args=[link.pk, photo.pk, min(photo.size_keys)])


def test_the_shared_urls_walked_here_are_all_the_shared_urls(s3_world):
    paths = {re.sub(r"[0-9a-f-]{36}", "ID", url) for url in shared_urls(s3_world.link, s3_world.photo)}
    assert len(paths) == len(SHARED)


def test_a_share_link_reaches_its_own_gallerys_photos(client, s3_world):
    for photo in (s3_world.photo, s3_world.second_photo):
        for url in photo_urls(s3_world.link, photo):
            assert client.get(url).status_code in (200, 302), url


def test_a_share_link_reaches_no_photo_of_another_gallery(client, s3_world):
    world = s3_world
    # The owner's unshared gallery, through the first gallery's link, and the other way round.
    for link, photo in [(world.link, world.other_photo), (world.other_link, world.photo)]:
        for url in photo_urls(link, photo):
            response = client.get(url)
            assert response.status_code == 404, url
            assert "Location" not in response
    page = client.get(reverse("sharing:public_gallery", args=[world.link.pk])).content.decode()
    assert str(world.photo.pk) in page
    assert str(world.other_photo.pk) not in page and "Private portfolio" not in page


def test_a_share_link_zip_holds_only_its_own_gallerys_photos(client, s3_world):
    response = client.get(reverse("sharing:zip_download", args=[s3_world.link.pk]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["Ceremony/IMG_0002.jpg", "IMG_0001.jpg"]


def test_a_share_link_reaches_no_set_of_another_gallery(client, s3_world):
    elsewhere = PhotoSet.objects.create(gallery=s3_world.other_gallery, name="Private")
    s3_world.other_photo.photo_set = elsewhere
    s3_world.other_photo.save()
    response = client.get(reverse("sharing:set_zip_download", args=[s3_world.link.pk, elsewhere.pk]))
    assert response.status_code == 404 and not response.streaming
    response = client.get(reverse("sharing:set_zip_download", args=[s3_world.link.pk, s3_world.photo_set.pk]))
    assert zipfile.ZipFile(BytesIO(b"".join(response.streaming_content))).namelist() == ["IMG_0002.jpg"]
    s3_world.link.refresh_from_db()
    assert s3_world.link.zip_downloads == 1


def test_an_expired_link_reaches_nothing(client, s3_world):
    link = s3_world.expired_link
    for photo in (s3_world.photo, s3_world.other_photo):
        for url in shared_urls(link, photo, s3_world.photo_set):
            response = client.get(url)
            assert response.status_code == 410, f"{url} answered {response.status_code}"
            assert "Location" not in response  # no signed URL handed out
            assert b"expired" in response.content
    link.refresh_from_db()
    assert (link.views, link.zip_downloads, link.single_downloads) == (0, 0, 0)


def test_an_unknown_link_is_a_404_everywhere(client, s3_world):
    unknown = ShareLink(pk=uuid.uuid4())
    for url in shared_urls(unknown, s3_world.photo, s3_world.photo_set):
        assert client.get(url).status_code == 404, url


def test_a_revoked_link_reaches_nothing(client, s3_world):
    client.force_login(s3_world.owner)
    client.post(reverse("sharing:share_link_delete", args=[s3_world.link.pk]))
    client.logout()
    for url in shared_urls(s3_world.link, s3_world.photo, s3_world.photo_set):
        assert client.get(url).status_code == 404, url


def test_the_admin_is_for_staff_only(client, s3_world):
    admin_urls = [(name, url) for name, namespace, url in all_urls(s3_world) if namespace == STAFF_NAMESPACE]
    client.force_login(s3_world.owner)  # a photographer, not staff
    for name, url in admin_urls:
        response = client.get(url)
        if name == "admin:login":
            assert response.status_code == 200
        else:
            assert login_redirect(response, admin=True), f"{url} ({name}) answered {response.status_code}"

    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get(reverse("admin:index")).status_code == 200
    for model in ("galleries_gallery", "galleries_photo", "sharing_sharelink", "accounts_user"):
        assert client.get(reverse(f"admin:{model}_changelist")).status_code == 200, model
    assert client.get(reverse("admin:galleries_gallery_change", args=[s3_world.gallery.pk])).status_code == 200


def test_staff_without_permissions_sees_no_photographers_data(client, s3_world):
    clerk = UserFactory(is_staff=True)
    client.force_login(clerk)
    for model in ("galleries_gallery", "galleries_photo", "sharing_sharelink", "accounts_user"):
        assert client.get(reverse(f"admin:{model}_changelist")).status_code == 403, model
    assert Photo.objects.filter(pk=s3_world.photo.pk).exists()


def test_staff_see_the_thumbnails_the_admin_shows(client, s3_world):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:galleries_gallery_change", args=[s3_world.gallery.pk])).content.decode()
    thumbnails = re.findall(r'<img src="([^"]+/thumbnail/)"', page)
    assert thumbnails
    for url in thumbnails:
        assert client.get(url).status_code in (200, 302), url
