"""The photographer's view of favourites: every list, the merged choice, and exports."""

import csv
import io
import re
import zipfile

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from favourites.models import Favourite, FavouriteList
from favourites.tests.factories import FavouritesLinkFactory
from galleries.tests.factories import GalleryFactory, PhotoFactory, jpeg_upload
from galleries.uploads import store_photo
from sharing.exports import safe_cell
from tests.test_headers import csp_problems

pytestmark = pytest.mark.django_db

AWKWARD_NAMES = ["Ann, Bob & “Cy”.jpg", 'say "cheese".jpg', "Zoë Łódź 東京.jpg", "=SUM(A1).jpg"]


def make_list(link, name, photos, email="", comments=None, submitted=False):
    favourite_list = FavouriteList(link=link, name=name, email=email)
    favourite_list.new_token()
    favourite_list.save()
    for photo in photos:
        favourite_list.add(photo, comment=(comments or {}).get(photo.original_filename))
    if submitted:
        favourite_list.submit()
    return favourite_list


@pytest.fixture
def chosen(db):
    gallery = GalleryFactory(name="Smith wedding")
    photos = [PhotoFactory(gallery=gallery, original_filename=name) for name in AWKWARD_NAMES + ["IMG_0005.jpg"]]
    parents = FavouritesLinkFactory(gallery=gallery, label="Parents", favourites=True)
    couple = FavouritesLinkFactory(gallery=gallery, label="Couple", favourites=True)
    ana = make_list(
        couple, "Ana", photos[:3], "ana@example.com", {"Ann, Bob & “Cy”.jpg": "crop tighter"}, submitted=True
    )
    ben = make_list(parents, "-Ben @home", photos[1:4], comments={"=SUM(A1).jpg": "+1 black and white"})
    return gallery, photos, ana, ben


def page_url(gallery, name="gallery_favourites"):
    return reverse(f"favourites:{name}", args=[gallery.pk])


def test_the_favourites_pages_need_the_owner(client, chosen):
    gallery, _, ana, _ = chosen
    urls = [
        page_url(gallery, name)
        for name in ("gallery_favourites", "favourites_csv", "favourites_filenames", "favourites_zip")
    ]
    actions = [
        reverse(f"favourites:list_{action}", args=[gallery.pk, ana.pk]) for action in ("reopen", "close", "delete")
    ]
    for url in urls + actions:
        assert reverse("accounts:login") in client.get(url)["Location"]
    client.force_login(UserFactory())
    for url in urls:
        assert client.get(url).status_code == 404, url
    for url in actions:
        assert client.post(url).status_code == 404, url
    assert FavouriteList.objects.count() == 2 and FavouriteList.objects.get(pk=ana.pk).is_submitted


def test_the_page_shows_every_list_and_the_merged_choice_with_counts_and_comments(client, chosen):
    gallery, photos, ana, ben = chosen
    client.force_login(gallery.owner)
    page = client.get(page_url(gallery)).content.decode()
    for text in [
        "Ana",
        "ana@example.com",
        "Couple",
        "Parents",
        "-Ben @home",
        "Sent",
        "Choosing",
        "crop tighter",
        "+1 black and white",
        "♥ 2",
        "Chosen by anyone",
    ]:
        assert text in page, text
    assert "&lt;" not in "Ana"  # names come out escaped (see test_names_are_escaped)
    one = client.get(page_url(gallery), {"list": ana.pk}).content.decode()
    assert "crop tighter" in one and "+1 black and white" not in one
    assert client.get(page_url(gallery), {"list": "not-a-uuid"}).status_code == 404
    other = make_list(FavouritesLinkFactory(favourites=True), "Elsewhere", [])
    assert client.get(page_url(gallery), {"list": other.pk}).status_code == 404


def test_names_and_comments_are_escaped(client, chosen):
    gallery, photos, ana, _ = chosen
    FavouriteList.objects.filter(pk=ana.pk).update(name="<script>alert(1)</script>")
    Favourite.objects.filter(favourite_list=ana).update(comment='"><img src=x onerror=alert(1)>')
    client.force_login(gallery.owner)
    page = client.get(page_url(gallery)).content.decode()
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page


def test_reopen_close_and_delete_a_list(client, chosen):
    gallery, _, ana, ben = chosen
    client.force_login(gallery.owner)
    client.post(reverse("favourites:list_reopen", args=[gallery.pk, ana.pk]))
    assert not FavouriteList.objects.get(pk=ana.pk).is_submitted
    client.post(reverse("favourites:list_close", args=[gallery.pk, ben.pk]))
    assert FavouriteList.objects.get(pk=ben.pk).is_submitted
    client.post(reverse("favourites:list_delete", args=[gallery.pk, ben.pk]))
    assert not FavouriteList.objects.filter(pk=ben.pk).exists()
    assert Favourite.objects.filter(favourite_list=ana).count() == 3


def read_csv(response):
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_csv_round_trips_awkward_file_names_and_defuses_formulas(client, chosen):
    gallery, photos, ana, ben = chosen
    client.force_login(gallery.owner)
    rows = read_csv(client.get(page_url(gallery, "favourites_csv")))
    assert list(rows[0]) == ["file_name", "comment", "person", "email", "link", "submitted"]
    assert len(rows) == 6
    names = {row["file_name"] for row in rows}
    assert {"Ann, Bob & “Cy”.jpg", 'say "cheese".jpg', "Zoë Łódź 東京.jpg"} <= names
    assert "'=SUM(A1).jpg" in names  # a formula shows as text
    assert {row["person"] for row in rows} == {"Ana", "'-Ben @home"}
    assert "'+1 black and white" in {row["comment"] for row in rows}
    assert {row["link"] for row in rows} == {"Couple", "Parents"}

    one = read_csv(client.get(page_url(gallery, "favourites_csv"), {"list": ana.pk}))
    assert sorted(row["file_name"] for row in one) == sorted(AWKWARD_NAMES[:3])
    assert {row["file_name"]: row["comment"] for row in one}["Ann, Bob & “Cy”.jpg"] == "crop tighter"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t'=1"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("ok;=HYPERLINK(1)", "ok;'=HYPERLINK(1)"),
        ("a, -b", "a, -b"),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(value, expected):
    assert safe_cell(value) == expected


def test_file_names_for_lightroom_and_capture_one(client, chosen):
    gallery, photos, ana, ben = chosen
    client.force_login(gallery.owner)
    lightroom = client.get(page_url(gallery, "favourites_filenames"), {"app": "lightroom"})
    assert lightroom["Content-Type"] == "text/plain; charset=utf-8"
    in_order = [photo.original_filename.removesuffix(".jpg") for photo in gallery.photos.in_display_order()]
    stems = [stem for stem in in_order if stem != "IMG_0005"]
    assert lightroom.content.decode() == ",".join(stems)  # each once, in the gallery's order
    captureone = client.get(page_url(gallery, "favourites_filenames"), {"app": "captureone", "list": ana.pk})
    assert captureone.content.decode() == " ".join(stem for stem in stems if stem != "=SUM(A1)")
    assert client.get(page_url(gallery, "favourites_filenames"), {"app": "photoshop"}).status_code == 400


def test_download_these_is_a_zip_of_the_chosen_originals(client, photo_storage):
    gallery = GalleryFactory(name="Smith wedding")
    photos = [store_photo(gallery, jpeg_upload(f"IMG_{n}.jpg", width=64, height=48)) for n in range(3)]
    link = FavouritesLinkFactory(gallery=gallery, favourites=True)
    ana = make_list(link, "Ana", photos[:1])
    make_list(link, "Ben", photos[1:2])
    client.force_login(gallery.owner)
    everyone = zipfile.ZipFile(io.BytesIO(client.get(page_url(gallery, "favourites_zip")).getvalue()))
    assert sorted(everyone.namelist()) == ["IMG_0.jpg", "IMG_1.jpg"]
    response = client.get(page_url(gallery, "favourites_zip"), {"list": ana.pk})
    assert zipfile.ZipFile(io.BytesIO(response.getvalue())).namelist() == ["IMG_0.jpg"]
    link.refresh_from_db()
    assert link.zip_downloads == 0  # the photographer's own downloads count nothing


def test_the_gallery_page_says_how_many_chose_and_links_there(client, chosen):
    gallery = chosen[0]
    client.force_login(gallery.owner)
    page = client.get(reverse("galleries:gallery_sharing", args=[gallery.pk])).content.decode()
    assert "2 clients chose favourites (1 sent)" in page
    assert page_url(gallery) in page


def test_favourites_pages_satisfy_the_content_security_policy(client, chosen):
    gallery, photos, ana, _ = chosen
    link = ana.link
    visitor = type(client)()
    visitor.post(reverse("favourites:favourite_list", args=[link.pk]), {"name": "Cleo"})
    pages = [
        visitor.get(link.get_absolute_url()),
        visitor.get(reverse("favourites:favourite_list", args=[link.pk])),
        type(client)().get(reverse("favourites:favourite_list", args=[link.pk])),
    ]
    client.force_login(gallery.owner)
    pages.append(client.get(page_url(gallery)))
    for response in pages:
        assert response.status_code == 200
        assert csp_problems(response) == [], response.request["PATH_INFO"]
        assert re.search(r"Content-Security-Policy", str(response.headers))


def test_every_csv_cell_is_quoted_so_a_semicolon_spreadsheet_finds_no_formula(client, chosen):
    gallery, photos, ana, _ = chosen
    Favourite.objects.filter(favourite_list=ana).update(comment='lovely;=HYPERLINK("http://evil.example")')
    client.force_login(gallery.owner)
    text = client.get(page_url(gallery, "favourites_csv")).content.decode()
    for line in text.splitlines():
        assert line.startswith('"') and line.endswith('"'), line
    for cell in csv.reader(io.StringIO(text), delimiter=";"):
        assert not any(part.startswith("=") for part in cell)


# Found by the attack of issue 23


def test_a_formula_after_a_line_break_inside_a_cell_is_neutralised():
    assert safe_cell("=1+1\n=2+2") == "'=1+1\n'=2+2"
    assert safe_cell("ok\r\n+1") == "ok\r\n'+1"
    assert safe_cell("a\r@b") == "a\r'@b"
