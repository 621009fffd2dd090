"""The client's side of sets: sections with a set menu, links to a set, a ZIP per set, and the
order of the gallery on every page, in the viewer's stream and in the ZIPs."""

import io
import re
import zipfile
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from galleries.models import Gallery, Photo, PhotoQuerySet, PhotoSet
from galleries.ordering import Sort
from galleries.tests.factories import GalleryFactory, PhotoFactory, jpeg_upload
from galleries.uploads import store_photo
from sharing import zips
from sharing.tests.factories import ShareLinkFactory

pytestmark = pytest.mark.django_db


def make_sets(gallery, *names):
    return [PhotoSet.objects.create(gallery=gallery, name=name) for name in names]


def set_zip_url(link, photo_set):
    return reverse("sharing:set_zip_download", args=[link.pk, photo_set.pk])


def entries(response):
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body)
    return zipfile.ZipFile(io.BytesIO(body))


@pytest.fixture
def wedding(photo_storage):
    """A shared gallery in three sections: a photo of no set, "Ceremony" (two) and "Party" (one)."""
    gallery = GalleryFactory(name="Smith wedding", show_filenames=True)
    ceremony, party = make_sets(gallery, "Ceremony", "Party")
    store_photo(gallery, jpeg_upload("cover.jpg", width=60, height=40))
    store_photo(gallery, jpeg_upload("vows.jpg", width=60, height=40), ceremony)
    store_photo(gallery, jpeg_upload("rings.jpg", width=40, height=60), ceremony)
    store_photo(gallery, jpeg_upload("dance.jpg", width=60, height=40), party)
    return ShareLinkFactory(gallery=gallery)


def test_the_public_page_shows_each_set_as_a_section_with_a_menu_counts_and_its_download(client, wedding):
    ceremony, party = wedding.gallery.sets.all()
    response = client.get(wedding.get_absolute_url())
    page = response.text
    assert [p.original_filename for p in response.context["page"].object_list] == [
        "cover.jpg",
        "rings.jpg",
        "vows.jpg",
        "dance.jpg",
    ]
    assert f'<li class="set-heading" id="set-{ceremony.pk}"' in page and f'id="set-{party.pk}"' in page
    assert page.index(f'id="set-{ceremony.pk}"') < page.index("rings.jpg") < page.index(f'id="set-{party.pk}"')
    assert page.index('data-name="cover.jpg"') < page.index(f'id="set-{ceremony.pk}"')  # under the gallery itself
    menu = page[page.index('<nav class="set-menu"') : page.index("</nav>")]
    assert f'href="#set-{ceremony.pk}"' in menu and f'href="#set-{party.pk}"' in menu and ">2</span>" in menu
    assert f'<option value="{party.pk}">Party (1)</option>' in menu
    assert page.count("Download this set") == 2 and set_zip_url(wedding, ceremony) in page
    assert "2 photos" in page and "js/set-menu.js" in page


def test_a_gallery_without_sets_has_no_set_menu_or_headings(client, shared_gallery):
    page = client.get(shared_gallery.get_absolute_url()).text
    assert 'class="set-menu' not in page and 'class="set-heading' not in page


def test_empty_sets_and_downloads_turned_off_leave_no_trace_for_the_client(client, wedding):
    [empty] = make_sets(wedding.gallery, "Empty")
    wedding.allow_zip = False
    wedding.save()
    page = client.get(wedding.get_absolute_url()).text
    page = re.sub(r"<style.*?</style>", "", page, flags=re.S)  # the stylesheet ("Empty states")
    assert str(empty.pk) not in page and "Empty" not in page
    assert "Download this set" not in page


def test_a_set_on_a_later_page_is_linked_with_its_page_and_headed_once(client, monkeypatch):
    monkeypatch.setattr(PhotoQuerySet, "PER_PAGE", 3)
    gallery = GalleryFactory(sort=Sort.NAME, show_filenames=True)
    early, late = make_sets(gallery, "Early", "Late")
    for n in range(4):
        PhotoFactory(gallery=gallery, original_filename=f"early{n}.jpg", photo_set=early)
    PhotoFactory(gallery=gallery, original_filename="late0.jpg", photo_set=late)
    link = ShareLinkFactory(gallery=gallery)
    first = client.get(link.get_absolute_url()).text
    assert f'href="?page=2#set-{late.pk}"' in first and f'href="#set-{early.pk}"' in first
    second = client.get(link.get_absolute_url(), {"page": 2, "partial": 1}).text
    assert f'id="set-{late.pk}"' in second and f'id="set-{early.pk}"' not in second  # "Early" goes on, unheaded
    assert second.index("early3.jpg") < second.index(f'id="set-{late.pk}"') < second.index("late0.jpg")
    assert 'class="set-break"' in second  # the row before a heading keeps its height

    chosen = client.get(link.get_absolute_url(), {"set": str(late.pk)})  # the phone's select, without JavaScript
    assert chosen.status_code == 302 and chosen.url == f"{link.get_absolute_url()}?page=2#set-{late.pk}"
    link.refresh_from_db()
    assert link.views == 1


def test_the_one_photo_page_steps_across_sets_in_order(client, wedding):
    order = list(wedding.gallery.ordered_photos())
    assert [p.original_filename for p in order] == ["cover.jpg", "rings.jpg", "vows.jpg", "dance.jpg"]
    response = client.get(reverse("sharing:public_photo", args=[wedding.pk, order[2].pk]))
    assert response.context["previous"] == order[1] and response.context["next"] == order[3]
    assert "3 of 4" in response.text and "Ceremony" in response.text
    last = client.get(reverse("sharing:public_photo", args=[wedding.pk, order[3].pk]))
    assert last.context["previous"] == order[2] and last.context["next"] is None


def test_a_sets_zip_holds_its_photos_in_order_and_counts_as_a_zip_download(client, wedding):
    ceremony = wedding.gallery.sets.get(name="Ceremony")
    response = client.get(set_zip_url(wedding, ceremony))
    archive = entries(response)
    assert archive.namelist() == ["rings.jpg", "vows.jpg"]
    for name in archive.namelist():
        photo = wedding.gallery.photos.get(original_filename=name)
        with default_storage.open(photo.object_key, "rb") as original:
            assert archive.read(name) == original.read()
    assert response["Content-Disposition"] == 'attachment; filename="Smith wedding - Ceremony.zip"'
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    wedding.refresh_from_db()
    assert (wedding.views, wedding.zip_downloads, wedding.single_downloads) == (0, 1, 0)


def test_the_whole_gallerys_zip_follows_the_gallerys_order_with_a_folder_per_set(client, wedding):
    names = entries(client.get(reverse("sharing:zip_download", args=[wedding.pk]))).namelist()
    assert names == ["cover.jpg", "Ceremony/rings.jpg", "Ceremony/vows.jpg", "Party/dance.jpg"]
    Gallery.objects.filter(pk=wedding.gallery_id).update(sort=Sort.UPLOADED)
    names = entries(client.get(reverse("sharing:zip_download", args=[wedding.pk]))).namelist()
    assert names == ["cover.jpg", "Ceremony/vows.jpg", "Ceremony/rings.jpg", "Party/dance.jpg"]


def test_set_folders_are_safe_unique_names(client, wedding):
    gallery = wedding.gallery
    PhotoSet.objects.filter(gallery=gallery, name="Party").update(name="Party / After")
    [odd] = make_sets(gallery, "Party - After")  # the same folder name once made safe
    store_photo(gallery, jpeg_upload("dance.jpg", width=60, height=40), odd)
    names = entries(client.get(reverse("sharing:zip_download", args=[wedding.pk]))).namelist()
    assert names[-2:] == ["Party - After/dance.jpg", "Party - After (2)/dance.jpg"]


def test_a_sets_zip_of_web_size_copies(client, wedding):
    wedding.download_size = "web"
    wedding.save()
    party = wedding.gallery.sets.get(name="Party")
    Photo.objects.update(preview_size=None)  # stored before preview sizes were recorded
    archive = entries(client.get(set_zip_url(wedding, party)))
    photo = party.photos.get()
    with default_storage.open(photo.preview_object_key, "rb") as preview:
        assert archive.read("dance.jpg") == preview.read()


@pytest.mark.parametrize(
    "change, status",
    [
        ({"allow_zip": False}, 403),
        ({"is_active": False}, 404),
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, 410),
    ],
)
def test_a_sets_zip_obeys_the_links_rules_and_counts_nothing_when_refused(client, wedding, change, status):
    ceremony = wedding.gallery.sets.get(name="Ceremony")
    for field, value in change.items():
        setattr(wedding, field, value)
    wedding.save()
    response = client.get(set_zip_url(wedding, ceremony))
    assert response.status_code == status and not response.streaming
    wedding.refresh_from_db()
    assert wedding.zip_downloads == 0


def test_a_sets_zip_needs_the_password_of_a_locked_link(client, wedding):
    wedding.set_password("secret words")
    wedding.save()
    ceremony = wedding.gallery.sets.get(name="Ceremony")
    assert client.get(set_zip_url(wedding, ceremony)).status_code == 401
    client.post(reverse("sharing:unlock", args=[wedding.pk]), {"password": "secret words"})
    assert entries(client.get(set_zip_url(wedding, ceremony))).namelist() == ["rings.jpg", "vows.jpg"]


def test_a_set_of_another_gallery_or_none_at_all_is_a_404(client, wedding):
    other = GalleryFactory()
    [theirs] = make_sets(other, "Theirs")
    ShareLinkFactory(gallery=other)
    for photo_set in (theirs, PhotoSet(pk="00000000-0000-4000-8000-000000000000")):
        response = client.get(set_zip_url(wedding, photo_set))
        assert response.status_code == 404 and not response.streaming
    wedding.refresh_from_db()
    assert wedding.zip_downloads == 0


def test_a_sets_zip_takes_a_stream_slot(client, wedding, settings):
    settings.VIEWPORT_ZIP_STREAMS = 1
    ceremony = wedding.gallery.sets.get(name="Ceremony")
    holding = client.get(set_zip_url(wedding, ceremony))
    busy = client.get(set_zip_url(wedding, ceremony))
    assert busy.status_code == 503 and busy["Retry-After"] == str(zips.RETRY_AFTER)
    entries(holding)
