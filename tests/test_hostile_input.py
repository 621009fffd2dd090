"""Hostile uploads, file names and names: a clear error and nothing stored, or stored harmlessly.

Every refused file leaves the gallery's storage prefix empty and no Photo row. Every accepted
file is served as what it decoded as, with nosniff and a Content-Disposition, never as a page.
"""

from datetime import timedelta
from email.message import Message

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from galleries.models import Gallery, Photo
from galleries.tests.factories import GalleryFactory, image_bytes
from galleries.uploads import store_photo
from sharing.tests.factories import ShareLinkFactory
from testing.http import ResumableUploader, fetch, upload
from testing.photos import jpeg_bomb, png_bomb

pytestmark = [pytest.mark.django_db, pytest.mark.pixels]

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE_BREAKOUT = '"><img src=x onerror=alert(1)>'
HTML_PAGE = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


REFUSED = {
    "not-an-image": (SimpleUploadedFile("IMG_0001.jpg", b"this is not a photo at all " * 40, "image/jpeg"), "photo"),
    "html-named-jpg": (SimpleUploadedFile("IMG_0002.jpg", HTML_PAGE, "image/jpeg"), "photo"),
    "html": (SimpleUploadedFile("page.html", HTML_PAGE, "text/html"), "photo"),
    "svg-with-script": (
        SimpleUploadedFile(
            "logo.svg", f'<svg xmlns="http://www.w3.org/2000/svg">{SCRIPT}</svg>'.encode(), "image/svg+xml"
        ),
        "photo",
    ),
    "svg-named-jpg": (
        SimpleUploadedFile(
            "IMG_0003.jpg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/jpeg"
        ),
        "photo",
    ),
    "zero-bytes": (SimpleUploadedFile("empty.jpg", b"", "image/jpeg"), "empty"),
    "truncated-jpeg": (SimpleUploadedFile("cut.jpg", image_bytes(800, 600)[:2500], "image/jpeg"), "photo"),
    "png-bomb": (SimpleUploadedFile("bomb.png", png_bomb(), "image/png"), "pixels"),
    "jpeg-bomb": (SimpleUploadedFile("bomb.jpg", jpeg_bomb(), "image/jpeg"), "pixels"),
}


def assert_nothing_stored(gallery, stored_keys):
    assert stored_keys(f"{gallery.pk}/") == []
    assert not Photo.objects.filter(gallery=gallery).exists()


def assert_clear_error(response, expected_word):
    assert response.status_code == 400
    [error] = response.json()["errors"]
    message = error["message"]
    assert expected_word in message.lower(), message
    assert "Traceback" not in message and "Error" not in message  # words for people, not exception names
    return message


@pytest.mark.parametrize("case", REFUSED)
def test_hostile_files_are_refused_with_a_clear_message_and_nothing_stored(client, gallery, stored_keys, case):
    file, expected_word = REFUSED[case]
    file.seek(0)
    assert_clear_error(upload(client, gallery, file), expected_word)
    assert_nothing_stored(gallery, stored_keys)


@pytest.mark.parametrize("case", REFUSED)
def test_hostile_files_sent_in_parts_are_refused_with_a_clear_message_and_nothing_stored(
    client, gallery, stored_keys, case
):
    """The same files through the page's resumable uploads: refused when asked about (empty), or
    once the worker tried them, with the reason on their tile; nothing of them is kept."""
    file, expected_word = REFUSED[case]
    file.seek(0)
    answer = ResumableUploader(client, gallery).upload(file.name, file.read())
    if answer.status_code == 400:
        message = answer.json()["error"]
    else:
        assert answer.status_code == 202 and answer.json()["status"] == "failed"
        message = answer.json()["error"]
    assert expected_word in message.lower(), message
    assert "Traceback" not in message and "Error" not in message
    assert_nothing_stored(gallery, stored_keys)


def test_a_file_over_the_size_limit_is_refused_and_nothing_stored(client, gallery, stored_keys, settings):
    settings.VIEWPORT_MAX_UPLOAD_SIZE = 5_000
    photo = SimpleUploadedFile("big.jpg", image_bytes(1600, 1200), "image/jpeg")
    assert photo.size > 5_000
    assert_clear_error(upload(client, gallery, photo), "limit")
    assert_nothing_stored(gallery, stored_keys)


def test_an_image_over_the_pixel_limit_is_refused_and_nothing_stored(client, gallery, stored_keys, settings):
    settings.VIEWPORT_MAX_IMAGE_PIXELS = 1_000_000
    photo = SimpleUploadedFile("wide.png", image_bytes(1200, 1000, format="PNG"), "image/png")
    assert_clear_error(upload(client, gallery, photo), "megapixels")
    assert_nothing_stored(gallery, stored_keys)


def test_without_javascript_a_refused_file_is_a_message_on_the_gallery_page(client, gallery, photo_storage):
    file = SimpleUploadedFile("page.html", HTML_PAGE, "text/html")
    response = client.post(reverse("galleries:photo_upload", args=[gallery.pk]), {"photos": [file]}, follow=True)
    assert response.status_code == 200
    messages = [str(message) for message in response.context["messages"]]
    assert len(messages) == 1 and messages[0].startswith("page.html: ")
    assert not Photo.objects.exists()


# A valid JPEG with a web page appended is a valid photo. It is kept byte for byte, but served
# so that no browser can ever render it as HTML on our origin.


def disposition(value):
    message = Message()
    message["Content-Disposition"] = value
    return message.get_content_disposition(), message.get_filename()


def test_a_jpeg_html_polyglot_is_kept_but_served_only_as_an_attachment_image(client, gallery, photo_storage):
    polyglot = image_bytes(400, 300) + HTML_PAGE
    response = upload(client, gallery, SimpleUploadedFile("poly.html", polyglot, "text/html"))
    assert response.status_code == 200, response.json()
    photo = Photo.objects.get()
    assert photo.content_type == "image/jpeg"
    link = ShareLinkFactory(gallery=gallery)

    downloads = [
        client.get(reverse("galleries:photo_download", args=[gallery.pk, photo.pk])),
        client.get(reverse("sharing:photo_download", args=[link.pk, photo.pk])),
    ]
    for response in downloads:
        assert response["X-Content-Type-Options"] == "nosniff"  # on our own answer, redirect or file
        body, headers = fetch(response)
        assert body == polyglot
        assert headers["Content-Type"] == "image/jpeg"
        # The download says what it is: a JPEG named `.html` downloads as `.jpg`.
        assert disposition(headers["Content-Disposition"]) == ("attachment", "poly.jpg")

    renditions = [
        client.get(reverse("galleries:photo_thumbnail", args=[gallery.pk, photo.pk])),
        client.get(reverse("sharing:public_preview", args=[link.pk, photo.pk])),
    ]
    for response in renditions:
        body, headers = fetch(response)
        assert headers["Content-Type"] == "image/jpeg"
        assert headers["Content-Disposition"].startswith("inline")
        assert b"<script" not in body  # re-encoded from pixels: nothing of the page survives


# File names: whatever the browser (or a hand-made request) sends, the stored name is a plain
# name inside the gallery's prefix, and it comes back in one well-formed header.

HOSTILE_NAMES = {
    "path-traversal": ("../../../etc/passwd.jpg", "passwd.jpg"),
    "windows-traversal": ("..\\..\\boot.ini.jpg", "boot.ini.jpg"),
    "control-characters": ("IMG\x00\x01\x07\x1b[31m_1.jpg", "IMG[31m_1.jpg"),
    "quotes": ('say "cheese" it\'s.jpg', "say cheese it's.jpg"),
    "crlf": ("evil\r\nSet-Cookie: session=stolen.jpg", "evilSet-Cookie session=stolen.jpg"),
    "html": (f"{ATTRIBUTE_BREAKOUT}.jpg", "img src=x onerror=alert(1).jpg"),
    "300-characters": ("a" * 296 + ".jpg", "a" * 146 + ".jpg"),
}


@pytest.mark.parametrize("case", HOSTILE_NAMES)
def test_hostile_file_names_are_cleaned_and_served_in_a_well_formed_header(
    client, gallery, photo_storage, stored_keys, case
):
    name, expected = HOSTILE_NAMES[case]
    photo = store_photo(gallery, SimpleUploadedFile(name, image_bytes(64, 48), "image/jpeg"))

    assert photo.original_filename == expected
    assert photo.object_key == f"{gallery.pk}/{photo.pk}/{expected}"
    assert len(photo.original_filename) <= 150
    keys = stored_keys(f"{gallery.pk}/")
    assert sorted(keys) == sorted(photo.storage_keys) and all(key.startswith(f"{gallery.pk}/") for key in keys)
    assert stored_keys("etc/") == []

    _, headers = fetch(client.get(reverse("galleries:photo_download", args=[gallery.pk, photo.pk])))
    header = headers["Content-Disposition"]
    assert "\r" not in header and "\n" not in header
    assert disposition(header) == ("attachment", expected)


def raw_upload(client, gallery, filename_star, data):
    """A multipart request written by hand, with the file name RFC 2231-encoded: the way to send
    a name with CR, LF or NUL in it that no browser would send."""
    boundary = "viewport-hostile-boundary"
    body = (
        (
            f"--{boundary}\r\n"
            f"Content-Disposition: form-data; name=\"photos\"; filename*=UTF-8''{filename_star}\r\n"
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(
        reverse("galleries:photo_upload", args=[gallery.pk]),
        body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={"Accept": "application/json"},
    )


def test_a_hand_made_request_with_crlf_in_the_file_name_cannot_inject_headers(
    client, gallery, photo_storage, stored_keys
):
    response = raw_upload(client, gallery, "..%2Fevil%0D%0ASet-Cookie%3A%20a%3Db%00.jpg", image_bytes(64, 48))
    assert response.status_code == 200, response.content
    photo = Photo.objects.get()
    assert not set(photo.original_filename) & set("\r\n\x00/\\")
    response = client.get(reverse("galleries:photo_download", args=[gallery.pk, photo.pk]))
    _, headers = fetch(response)
    assert "Set-Cookie" not in response and "Set-Cookie" not in headers
    assert all(key.startswith(f"{gallery.pk}/") for key in stored_keys(f"{gallery.pk}/"))


# Names photographers type (gallery names, display names) come out escaped everywhere.

PAYLOADS = [SCRIPT, ATTRIBUTE_BREAKOUT]


def assert_escaped(response, payload):
    assert response.status_code == 200, response.status_code
    content = response.content.decode()
    assert payload not in content
    assert "<img src=x" not in content and "<script>alert" not in content


@pytest.mark.parametrize("payload", PAYLOADS)
def test_html_in_gallery_and_display_names_is_escaped_on_every_page(client, payload, db):
    owner = UserFactory(display_name=payload)
    client.force_login(owner)
    response = client.post(reverse("galleries:gallery_list"), {"name": payload})
    gallery = Gallery.objects.get(owner=owner)
    assert gallery.name == payload  # stored as typed: escaping is the templates' job
    store_photo(gallery, SimpleUploadedFile(f"{payload}.jpg", image_bytes(64, 48), "image/jpeg"))
    photo = gallery.photos.get()
    link = ShareLinkFactory(gallery=gallery)

    pages = [
        reverse("galleries:gallery_list"),
        reverse("galleries:gallery_detail", args=[gallery.pk]),
        reverse("galleries:gallery_delete", args=[gallery.pk]),
        reverse("sharing:share_link_list"),
        reverse("accounts:profile"),
        reverse("sharing:public_gallery", args=[link.pk]),
        reverse("sharing:public_photo", args=[link.pk, photo.pk]),
    ]
    for url in pages:
        assert_escaped(client.get(url), payload)
    # Messages that repeat the name, after a rename.
    response = client.post(reverse("galleries:gallery_rename", args=[gallery.pk]), {"name": payload}, follow=True)
    assert_escaped(response, payload)

    zip_response = client.get(reverse("sharing:zip_download", args=[link.pk]))
    header = zip_response["Content-Disposition"]
    assert "\r" not in header and "\n" not in header and "<" not in header
    kind, filename = disposition(header)
    assert kind == "attachment" and filename.endswith(".zip") and "/" not in filename

    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    admin_pages = [
        reverse("admin:galleries_gallery_changelist"),
        reverse("admin:galleries_gallery_change", args=[gallery.pk]),
        reverse("admin:galleries_photo_changelist"),
        reverse("admin:galleries_photo_change", args=[photo.pk]),
        reverse("admin:sharing_sharelink_changelist"),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_change", args=[owner.pk]),
        reverse("admin:galleries_gallery_delete", args=[gallery.pk]),
    ]
    for url in admin_pages:
        assert_escaped(client.get(url), payload)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("写" * 150 + ".jpg", "写" * 65 + ".jpg"),  # 150 characters, but 454 bytes: too long a file name
        ("thumbnails", "thumbnails.jpg"),  # named like the gallery's folder of thumbnails
        ("previews", "previews.jpg"),
        ("x.hta", "x.jpg"),  # a JPEG downloads as what it is
    ],
)
def test_awkward_file_names_are_stored_safely_and_download_as_what_they_are(
    client, gallery, photo_storage, name, expected
):
    response = upload(client, gallery, SimpleUploadedFile(name, image_bytes(64, 48), "image/jpeg"))
    assert response.status_code == 200, response.content
    photo = Photo.objects.get(pk=response.json()["photos"][0]["id"])
    assert photo.original_filename == expected
    download = client.get(reverse("galleries:photo_download", args=[gallery.pk, photo.pk]))
    body, headers = fetch(download)
    assert body == image_bytes(64, 48)
    assert disposition(headers["Content-Disposition"]) == ("attachment", expected)


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[]",
        '"text"',
        '{"expires_at": {"date": "2030-01-01"}}',
        '{"expires_in_days": [[7]]}',
        "\xff\xfe",
        '{"is_active": 0}',
        '{"allow_zip": "off"}',
        '{"is_active": "no"}',
        '{"label": "\\ud800"}',
        '{"password": "abc\\udfffdef"}',
    ],
)
def test_a_malformed_or_wrongly_typed_json_body_is_a_400_and_changes_nothing(client, body):
    """Not JSON, not an object, nested values, a checkbox that is not true or false (0, "off"),
    and strings PostgreSQL cannot store (lone surrogates)."""
    link = ShareLinkFactory(expires_at=timezone.now() + timedelta(days=3))
    client.force_login(link.gallery.owner)
    expires_at = link.expires_at
    for url in [
        reverse("sharing:share_link_update", args=[link.pk]),
        reverse("sharing:share_link_create", args=[link.gallery.pk]),
    ]:
        response = client.post(url, body, content_type="application/json", headers={"Accept": "application/json"})
        assert response.status_code == 400, (url, response.status_code)
        assert response.json()["error"]
    link.refresh_from_db()
    assert link.expires_at == expires_at and link.is_active and link.allow_zip and link.label == ""
    assert link.gallery.share_links.count() == 1


def test_json_clients_get_json_errors_in_words(client, gallery, settings):
    """An upload to a gallery that is not theirs is a JSON 404; too many files, a JSON 400 that
    says how many may go at once (not the name of a setting)."""
    json = {"Accept": "application/json"}
    other = GalleryFactory()
    response = client.post(reverse("galleries:photo_upload", args=[other.pk]), {}, headers=json)
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert "error" in response.json()
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [SimpleUploadedFile(f"IMG_{n}.jpg", image_bytes(32, 32), "image/jpeg") for n in range(3)]
    response = client.post(reverse("galleries:photo_upload", args=[gallery.pk]), {"photos": files}, headers=json)
    assert response.status_code == 400
    assert response.json() == {"error": "Send at most 2 photos at a time."}
