"""The photographer's brand: POST /accounts/profile/branding/ (a form, or JSON with the same
keys), its logo in photo storage, its stylesheet and logo URLs, and what clients see of it."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from PIL import Image

from accounts import colours
from accounts.models import User
from accounts.tests.factories import UserFactory
from galleries.tests.factories import GalleryFactory
from sharing.tests.factories import ShareLinkFactory
from testing.photos import image_bytes

pytestmark = pytest.mark.django_db

URL = reverse("accounts:branding")
BRAND = {
    "brand_name": "Lena Hart Photography",
    "accent_color": "#2E5E4E",
    "font": "editorial",
    "website": "https://lenahart.com",
    "instagram": "@LenaHart.Photo",
    "contact_email": "hello@lenahart.com",
}
KEYS = {"brand_name", "logo", "accent_color", "font", "website", "instagram", "contact_email"}


def logo_upload(name="logo.png", width=1200, height=600, format="PNG", mode="RGBA", color=(30, 90, 70, 255)):
    return SimpleUploadedFile(name, image_bytes(width, height, format, mode=mode, color=color))


def post_json(client, data):
    return client.post(URL, json.dumps(data), content_type="application/json", headers={"Accept": "application/json"})


@pytest.fixture
def photographer(client):
    user = UserFactory(display_name="Lena Hart")
    client.force_login(user)
    return user


def test_branding_needs_a_login(client):
    assert client.get(URL)["Location"] == f"{reverse('accounts:login')}?next={URL}"
    assert post_json(client, {"brand_name": "x"}).status_code == 401


def test_the_form_sets_the_whole_brand_and_clients_see_it(client, photographer, photo_storage, stored_keys):
    response = client.post(URL, {**BRAND, "logo": logo_upload()})

    assert response.status_code == 302 and response["Location"] == URL
    photographer.refresh_from_db()
    assert photographer.brand_name == "Lena Hart Photography"
    assert photographer.name == "Lena Hart Photography"  # what clients see, in pages and mails
    assert photographer.accent_color == "#2e5e4e"
    assert photographer.instagram == "lenahart.photo"
    assert stored_keys(f"brands/{photographer.pk}/") == [photographer.logo_key]
    assert (photographer.logo_width, photographer.logo_height) == (480, 240)

    link = ShareLinkFactory(gallery=GalleryFactory(owner=photographer, name="Smith wedding"))
    page = client.get(link.get_absolute_url()).content.decode()
    assert f'<img class="brand-bar__logo" src="{photographer.logo_url}" alt="Lena Hart Photography"' in page
    assert f'<link rel="stylesheet" href="{photographer.brand_css_url}">' in page
    assert "fonts/playfair-display/playfair-display-latin-wght-normal.woff2" in page  # preloaded
    for contact in (
        'href="https://lenahart.com"',
        "https://www.instagram.com/lenahart.photo/",
        "mailto:hello@lenahart.com",
    ):
        assert contact in page

    logo = client.get(photographer.logo_url)
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png"
    assert "immutable" in logo["Cache-Control"]
    with Image.open(io.BytesIO(b"".join(logo.streaming_content if logo.streaming else [logo.content]))) as image:
        assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (480, 240))


def test_json_changes_only_the_keys_it_sends_and_answers_with_the_brand(client, photographer):
    client.post(URL, BRAND)

    response = post_json(client, {"accent_color": "#8a3c5a", "instagram": ""})

    assert response.status_code == 200
    assert set(response.json()) == KEYS
    assert response.json() == {**response.json(), "accent_color": "#8a3c5a", "instagram": "", "font": "editorial"}
    assert response.json()["logo"] is None
    photographer.refresh_from_db()
    assert (photographer.brand_name, photographer.website) == ("Lena Hart Photography", "https://lenahart.com")
    assert client.get(URL, headers={"Accept": "application/json"}).json() == response.json()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("accent_color", "red", "Enter a colour as # and six hexadecimal digits"),
        ("accent_color", "#fff", "Enter a colour as # and six hexadecimal digits"),
        ("accent_color", "#ffd84a", "too light for links and text"),
        ("font", "comic", "Choose one of classic, modern, editorial, clean"),
        ("website", "http://lenahart.com", "Enter an https:// address"),
        ("website", "javascript:alert(1)", "Enter an https:// address"),
        ("instagram", "lena hart!", "Enter your Instagram handle"),
        ("contact_email", "hello@", "Enter a valid email address"),
        ("brand_name", "Lena\nHart", "line breaks"),
        ("logo", "data:image/png;base64,AAAA", "Send the logo as a file"),
    ],
)
def test_bad_values_are_refused_with_a_message_and_change_nothing(client, photographer, field, value, message):
    client.post(URL, BRAND)

    response = post_json(client, {"brand_name": "Changed", field: value})

    assert response.status_code == 400
    assert message in response.json()["fields"][field][0]
    assert message in response.json()["error"] or response.json()["error"]
    photographer.refresh_from_db()
    assert photographer.brand_name == "Lena Hart Photography"
    typed = "contact_email" if field != "contact_email" else "brand_name"
    page = client.post(URL, {**BRAND, typed: "typed@example.com", field: value})
    assert page.status_code == 400
    assert message in page.content.decode().replace("&#x27;", "'")
    assert 'value="typed@example.com"' in page.content.decode()  # what was typed stays in the form


def test_a_colour_too_light_to_read_is_refused_with_a_darker_shade_that_passes(client, photographer):
    response = post_json(client, {"accent_color": "#ffd84a"})

    message = response.json()["fields"]["accent_color"][0]
    suggested = message.split("such as ")[1].split(" ")[0]
    assert colours.worst_contrast(suggested, colours.LIGHT_PAGES) >= 4.5
    assert post_json(client, {"accent_color": suggested}).status_code == 200


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
            "SVG",
        ),
        (SimpleUploadedFile("logo.gif", image_bytes(40, 40, "GIF", mode="P")), "PNG, JPEG or WebP"),
        (SimpleUploadedFile("logo.png", image_bytes(400, 200, "PNG")[:300]), "damaged or incomplete"),
        (SimpleUploadedFile("logo.png", b""), "empty"),
    ],
)
def test_logos_that_are_not_png_jpeg_or_webp_images_are_refused(client, photographer, upload, message):
    response = client.post(URL, {"logo": upload}, headers={"Accept": "application/json"})

    assert response.status_code == 400
    assert message in response.json()["fields"]["logo"][0]
    photographer.refresh_from_db()
    assert photographer.logo_key == ""


def test_a_new_logo_replaces_the_old_one_and_clearing_it_deletes_it(
    client, photographer, photo_storage, stored_keys, django_capture_on_commit_callbacks
):
    client.post(URL, {"logo": logo_upload()})
    first = User.objects.get(pk=photographer.pk).logo_key

    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, {"logo": logo_upload("logo.jpg", 300, 300, "JPEG", mode="RGB", color=(10, 10, 10))})
    second = User.objects.get(pk=photographer.pk).logo_key
    folder = f"brands/{photographer.pk}/"
    assert second != first and stored_keys(folder) == [second]

    refused = client.post(URL, {"logo": logo_upload(), "logo_clear": "on"})
    assert refused.status_code == 400 and stored_keys(folder) == [second]

    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(client, {"logo_clear": True})
    assert response.json()["logo"] is None
    assert stored_keys(folder) == []
    assert client.get(reverse("accounts:brand_logo", args=[photographer.pk, "x"])).status_code == 404


def test_the_brand_stylesheet_keeps_every_colour_readable_in_light_and_dark(client, photographer):
    client.post(URL, {**BRAND, "accent_color": "#1b3a8a"})
    photographer.refresh_from_db()

    response = client.get(photographer.brand_css_url)

    assert response.status_code == 200 and response["Content-Type"] == "text/css; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    css = response.content.decode()
    assert "--color-accent: #1b3a8a;" in css and "--color-on-accent: #ffffff;" in css
    assert '--font-display: "Playfair Display"' in css
    dark = css.split("prefers-color-scheme: dark")[1]
    dark_accent = dark.split("--color-accent: ")[1][:7]
    on_dark_accent = dark.split("--color-on-accent: ")[1][:7]
    assert colours.worst_contrast(dark_accent, colours.DARK_PAGES) >= 4.5
    assert colours.contrast(on_dark_accent, dark_accent) >= 4.5
    outdated = client.get(reverse("accounts:brand_css", args=[photographer.pk, "0ld"]))
    assert outdated.status_code == 200 and outdated["Cache-Control"] == "public, max-age=60"
    assert client.get(reverse("accounts:brand_css", args=[UserFactory.build().pk, "x"])).status_code == 404


@pytest.mark.parametrize("colour", ["#000000", "#8a5a3c", "#1b3a8a", "#b3261e", "#2f6b3a", "#595959", "#6b2fa0"])
def test_every_accepted_accent_gets_readable_text_on_it_and_a_readable_dark_shade(colour):
    assert colours.worst_contrast(colour, colours.LIGHT_PAGES) >= 4.5
    palette = colours.accent_palette(colour)
    for scheme, pages in (("light", colours.LIGHT_PAGES), ("dark", colours.DARK_PAGES)):
        accent = palette[scheme]["accent"]
        assert colours.worst_contrast(accent, pages) >= 4.5
        for background in (accent, palette[scheme]["accent_hover"]):
            assert colours.contrast(palette[scheme]["on_accent"], background) >= 4.5


def test_website_and_instagram_are_read_as_photographers_type_them(client, photographer):
    response = post_json(
        client, {"website": "lenahart.com/weddings", "instagram": "https://www.instagram.com/lena_hart/?hl=en"}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["website"] == "https://lenahart.com/weddings"
    assert response.json()["instagram"] == "lena_hart"


def test_mails_to_clients_wear_the_brand_with_the_logo_inside(client, photographer, photo_storage, smtp_mail, settings):
    settings.VIEWPORT_SITE_URL = "https://photos.example.com"
    client.post(URL, {**BRAND, "logo": logo_upload()})
    link = ShareLinkFactory(gallery=GalleryFactory(owner=photographer, name="Smith wedding"))

    client.post(reverse("sharing:share_link_send", args=[link.pk]), {"emails": "anna@example.com"})

    [message] = smtp_mail.wait_for(1)
    assert message["From"].addresses[0].display_name == "Lena Hart Photography"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert '<img src="cid:logo" alt="Lena Hart Photography"' in html
    [logo] = [part for part in message.walk() if part.get("Content-ID") == "<logo>"]
    assert logo.get_content_type() == "image/png" and logo.get_content().startswith(b"\x89PNG")
    assert "background: #2e5e4e; color: #ffffff;" in html  # the button, in the accent colour
    for contact in ("https://lenahart.com", "https://www.instagram.com/lenahart.photo/", "mailto:hello@lenahart.com"):
        assert contact in html
    for contact in ("https://lenahart.com", "@lenahart.photo", "hello@lenahart.com"):
        assert contact in text


def test_a_logo_is_no_orphan_to_check_storage_and_goes_with_its_photographer(
    client, photographer, photo_storage, stored_keys, django_capture_on_commit_callbacks, capsys
):
    client.post(URL, {"logo": logo_upload()})
    folder = f"brands/{photographer.pk}/"
    [key] = stored_keys(folder)

    call_command("check_storage", "--delete-orphans", "--min-age", "0")
    assert f"orphan object: {key}" not in capsys.readouterr().out
    assert stored_keys(folder) == [key]

    with django_capture_on_commit_callbacks(execute=True):
        User.objects.get(pk=photographer.pk).delete()
    assert stored_keys(folder) == []
