"""The photographer's watermark: POST /accounts/profile/watermark/ (a form, or JSON answering the
same keys), its image in photo storage, and the page's live preview on one of their photos."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts.tests.factories import UserFactory
from galleries.tests.factories import GalleryFactory
from galleries.uploads import store_photo
from testing.photos import image_bytes, jpeg_upload

pytestmark = pytest.mark.django_db

URL = reverse("accounts:watermark")
PREVIEW_URL = reverse("accounts:watermark_preview")
KEYS = {
    "watermark_image",
    "watermark_text",
    "watermark_position",
    "watermark_opacity",
    "watermark_scale",
    "watermark_version",
}
SETTINGS = {
    "watermark_text": "© Lena Hart",
    "watermark_position": "bottom-right",
    "watermark_opacity": 70,
    "watermark_scale": 40,
}


def mark_upload(name="mark.png", format="PNG", mode="RGBA", size=(800, 300), **save_args):
    picture = Image.new(mode, size, (0, 0, 0, 0) if mode == "RGBA" else (20, 20, 20))
    picture.paste((250, 250, 250, 255) if mode == "RGBA" else (250, 250, 250), (100, 50, 700, 250))
    buffer = io.BytesIO()
    picture.save(buffer, format, **save_args)
    return SimpleUploadedFile(name, buffer.getvalue())


def post_json(client, data):
    return client.post(URL, json.dumps(data), content_type="application/json", headers={"Accept": "application/json"})


def as_json(client, data):
    return client.post(URL, data, headers={"Accept": "application/json"})


@pytest.fixture
def photographer(client):
    user = UserFactory(display_name="Lena Hart")
    client.force_login(user)
    return user


def test_the_watermark_needs_a_login(client):
    assert client.get(URL)["Location"] == f"{reverse('accounts:login')}?next={URL}"
    assert post_json(client, {"watermark_text": "x"}).status_code == 401
    assert client.get(PREVIEW_URL).status_code == 302


def test_a_new_photographer_has_a_text_watermark_of_their_name(client, photographer):
    answer = client.get(URL, headers={"Accept": "application/json"}).json()

    assert set(answer) == KEYS
    assert answer | {"watermark_version": None} == {
        "watermark_image": None,
        "watermark_text": "",
        "watermark_position": "center",
        "watermark_opacity": 50,
        "watermark_scale": 30,
        "watermark_version": None,
    }
    assert photographer.watermark_label == "Lena Hart"
    page = client.get(URL).content.decode()
    assert 'placeholder="Lena Hart"' in page and PREVIEW_URL in page


def test_the_form_sets_the_watermark_and_json_changes_only_what_it_names(client, photographer):
    before = photographer.watermark_version

    response = client.post(URL, SETTINGS)

    assert response.status_code == 302 and response["Location"] == URL
    photographer.refresh_from_db()
    assert (photographer.watermark_label, photographer.watermark_position) == ("© Lena Hart", "bottom-right")
    assert (photographer.watermark_opacity, photographer.watermark_scale) == (70, 40)
    assert photographer.watermark_version != before
    answer = post_json(client, {"watermark_position": "tiled"}).json()
    assert answer == {**answer, **SETTINGS, "watermark_position": "tiled"}
    assert client.get(URL, headers={"Accept": "application/json"}).json() == answer


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("watermark_position", "top-left", "Choose one of center, bottom-right, bottom-left, tiled"),
        ("watermark_opacity", 4, "from 5 to 100"),
        ("watermark_opacity", 101, "from 5 to 100"),
        ("watermark_scale", 0, "from 5 to 100"),
        ("watermark_scale", "big", "Enter a whole number"),
        ("watermark_text", "Lena\nHart", "line breaks"),
        ("watermark_image", "data:image/png;base64,AAAA", "Send the watermark image as a file"),
    ],
)
def test_bad_values_are_refused_with_a_message_and_change_nothing(client, photographer, field, value, message):
    client.post(URL, SETTINGS)

    response = post_json(client, {"watermark_text": "Changed", field: value})

    assert response.status_code == 400
    assert message in response.json()["fields"][field][0]
    photographer.refresh_from_db()
    assert photographer.watermark_text == "© Lena Hart"
    typed = {"watermark_text": "Typed"} if field != "watermark_text" else {"watermark_scale": 77}
    page = client.post(URL, {**SETTINGS, **typed, field: value})
    assert page.status_code == 400
    assert message in page.content.decode()
    assert 'value="Typed"' in page.content.decode() or 'value="77"' in page.content.decode()  # kept in the form


def test_a_png_with_transparency_is_stored_and_a_post_without_an_image_keeps_it(
    client, photographer, photo_storage, stored_keys, django_capture_on_commit_callbacks
):
    response = as_json(client, {**SETTINGS, "watermark_image": mark_upload()})

    assert response.status_code == 200
    photographer.refresh_from_db()
    assert stored_keys(f"brands/{photographer.pk}/") == [photographer.watermark_image_key]
    image = client.get(response.json()["watermark_image"])
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(b"".join(image.streaming_content if image.streaming else [image.content]))) as mark:
        assert (mark.mode, mark.size) == ("RGBA", (600, 200))  # its clear margins trimmed

    kept = as_json(client, {"watermark_opacity": 30})
    assert kept.status_code == 200 and kept.json()["watermark_image"] == response.json()["watermark_image"].replace(
        photographer.watermark_version, kept.json()["watermark_version"]
    )
    photographer.refresh_from_db()
    assert photographer.watermark_image_key and photographer.watermark_opacity == 30

    first_key = photographer.watermark_image_key
    with django_capture_on_commit_callbacks(execute=True):
        assert as_json(client, {"watermark_image": mark_upload("mark.jpg", "JPEG", "RGB")}).status_code == 200
    photographer.refresh_from_db()
    assert photographer.watermark_image_key != first_key
    assert stored_keys(f"brands/{photographer.pk}/") == [photographer.watermark_image_key]  # the old one went

    with django_capture_on_commit_callbacks(execute=True):
        assert as_json(client, {"watermark_image_clear": "on"}).json()["watermark_image"] is None
    assert stored_keys(f"brands/{photographer.pk}/") == []


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (lambda: mark_upload("mark.gif", "GIF", "RGB"), "PNG (best with a transparent background) or a JPEG"),
        (lambda: mark_upload("mark.webp", "WEBP"), "PNG (best with a transparent background) or a JPEG"),
        (lambda: SimpleUploadedFile("mark.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "or a JPEG"),
        (lambda: SimpleUploadedFile("mark.png", image_bytes(100, 100, "PNG")[:200]), "damaged or incomplete"),
        (lambda: SimpleUploadedFile("clear.png", _clear_png()), "transparent all over"),
        (lambda: SimpleUploadedFile("big.png", _noise_png(1200)), "may be at most 2 MB"),
    ],
)
def test_anything_but_a_small_png_or_jpeg_is_refused_with_400(client, photographer, photo_storage, upload, message):
    client.post(URL, SETTINGS)

    response = as_json(client, {"watermark_text": "Changed", "watermark_image": upload()})

    assert response.status_code == 400
    assert message in response.json()["fields"]["watermark_image"][0]
    photographer.refresh_from_db()
    assert (photographer.watermark_text, photographer.watermark_image_key) == ("© Lena Hart", "")


def _clear_png():
    buffer = io.BytesIO()
    Image.new("RGBA", (50, 50), (255, 255, 255, 0)).save(buffer, "PNG")
    return buffer.getvalue()


def _noise_png(side):
    buffer = io.BytesIO()
    Image.effect_noise((side, side), 100).convert("RGB").save(buffer, "PNG")
    assert len(buffer.getvalue()) > 2 * 1024 * 1024
    return buffer.getvalue()


def test_the_preview_shows_one_of_the_photographers_photos_with_the_form_as_it_is(client, photographer, photo_storage):
    store_photo(GalleryFactory(owner=photographer), jpeg_upload(width=1500, height=1000, color=(30, 60, 120)))
    client.post(URL, SETTINGS)

    saved = client.get(PREVIEW_URL)
    unsaved = client.post(PREVIEW_URL, {**SETTINGS, "watermark_position": "bottom-left"})

    assert saved.status_code == unsaved.status_code == 200
    assert saved["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(saved.content)) as left, Image.open(io.BytesIO(unsaved.content)) as right:
        assert left.size == right.size == (1200, 800)
        width = left.width
        # Bottom right in the saved one, bottom left in the unsaved one; the photo's own blue elsewhere.
        assert _brightest(left.crop((width * 3 // 4, 700, width, 790))) > 200
        assert _brightest(right.crop((width * 3 // 4, 700, width, 790))) < 100
        assert _brightest(right.crop((0, 700, width // 4, 790))) > 200
    photographer.refresh_from_db()
    assert photographer.watermark_position == "bottom-right"  # the preview saved nothing
    refused = client.post(PREVIEW_URL, {"watermark_opacity": 1}, headers={"Accept": "image/jpeg, application/json"})
    assert refused.status_code == 400 and "from 5 to 100" in refused.json()["error"]


def _brightest(region):
    return region.convert("L").getextrema()[1]
