"""How clients see a gallery: POST /galleries/<id>/presentation/ (a form or JSON) and what the
public page and viewer then show."""

import json
import re

import pytest
from django.urls import reverse

from galleries.models import Gallery
from galleries.tests.factories import GalleryFactory, jpeg_upload
from galleries.uploads import store_photo
from sharing.tests.factories import ShareLinkFactory

pytestmark = pytest.mark.django_db

KEYS = {"cover_layout", "grid_spacing", "show_filenames", "slideshow_seconds"}


def url(gallery):
    return reverse("galleries:gallery_presentation", args=[gallery.pk])


def post_json(client, gallery, data):
    return client.post(
        url(gallery), json.dumps(data), content_type="application/json", headers={"Accept": "application/json"}
    )


def test_the_page_form_sets_every_choice_and_an_unticked_box_is_off(client, gallery):
    Gallery.objects.filter(pk=gallery.pk).update(show_filenames=True)
    form = {"cover_layout": "split", "grid_spacing": "none", "slideshow_seconds": "8"}

    response = client.post(url(gallery), form)

    settings_url = reverse("galleries:gallery_settings", args=[gallery.pk])
    assert response.status_code == 302 and response["Location"] == settings_url
    gallery.refresh_from_db()
    assert (gallery.cover_layout, gallery.grid_spacing, gallery.show_filenames, gallery.slideshow_seconds) == (
        "split",
        "none",
        False,
        8,
    )
    client.post(url(gallery), {**form, "show_filenames": "on"})
    assert Gallery.objects.get(pk=gallery.pk).show_filenames is True


def test_json_changes_only_what_it_sends_and_answers_every_setting(client, gallery):
    response = post_json(client, gallery, {"show_filenames": True})

    assert response.status_code == 200
    assert response.json() == {
        "cover_layout": "full",
        "grid_spacing": "small",
        "show_filenames": True,
        "slideshow_seconds": 5,
    }
    response = post_json(client, gallery, {"cover_layout": "minimal"})
    assert response.json() == {**response.json(), "cover_layout": "minimal", "show_filenames": True}
    assert set(response.json()) == KEYS


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"cover_layout": "hero"}, "cover_layout", "Choose one of full, split, frame, minimal."),
        ({"cover_layout": ""}, "cover_layout", "This field is required."),
        ({"grid_spacing": "huge"}, "grid_spacing", "Choose one of none, small, large."),
        ({"show_filenames": "yes"}, "show_filenames", "Use true or false."),
        ({"slideshow_seconds": 1}, "slideshow_seconds", "Choose 2 to 30 seconds."),
        ({"slideshow_seconds": "soon"}, "slideshow_seconds", "Choose 2 to 30 seconds."),
    ],
)
def test_any_other_value_is_refused_with_400_and_a_message(client, gallery, data, field, message):
    response = post_json(client, gallery, {"grid_spacing": "large", **data})

    assert response.status_code == 400
    assert message in json.dumps(response.json())
    assert Gallery.objects.get(pk=gallery.pk).grid_spacing == "small"  # nothing changed
    if field != "show_filenames":  # a browser's ticked box may post any value
        form = {"cover_layout": "full", "grid_spacing": "small", "slideshow_seconds": 5, **data}
        page = client.post(url(gallery), form)
        assert page.status_code == 400 and message in page.text


def test_the_public_page_carries_the_layout_and_hides_file_names_and_sizes_unless_shown(client):
    gallery = GalleryFactory(name="Smith wedding", cover_layout="frame")
    for name in ("DSC_0001.jpg", "DSC_0002.jpg"):
        store_photo(gallery, jpeg_upload(name, width=300, height=200))
    link = ShareLinkFactory(gallery=gallery)

    page = client.get(link.get_absolute_url()).text

    assert re.search(r'<body class="[^"]*" data-cover-layout="frame"', page)
    assert "DSC_000" not in page
    assert 'alt="Photo 1 of 2"' in page and 'alt="Photo 2 of 2"' in page and 'data-label="Photo 2 of 2"' in page
    sizes = re.findall(r"\d+(?:\.\d+)?\s?(?:bytes|KB|MB|GB)", page)
    assert len(sizes) == 1 and f"({sizes[0]}, ZIP)" in page  # on "Download all" only
    photo = gallery.ordered_photos().first()
    one = client.get(reverse("sharing:public_photo", args=[link.pk, photo.pk])).text
    assert "DSC_000" not in one and "Photo 1 of 2" in one
    assert not re.search(r"\d+(?:\.\d+)?\s?(?:bytes|KB|MB)", one.split("Download")[0])

    Gallery.objects.filter(pk=gallery.pk).update(show_filenames=True)
    page = client.get(link.get_absolute_url()).text
    assert 'alt="DSC_0001.jpg"' in page and 'data-name="DSC_0002.jpg"' in page
