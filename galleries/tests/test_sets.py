"""A gallery's sets: create, rename, reorder, delete; photos moved into them or uploaded into them."""

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from galleries.models import PhotoSet
from galleries.tests.factories import GalleryFactory, PhotoFactory, jpeg_upload

pytestmark = pytest.mark.django_db

JSON = {"Accept": "application/json"}
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def post_json(client, url, data):
    return client.post(url, data, content_type="application/json", headers=JSON)


def sets_of(gallery):
    return [(s.name, s.position, s.photo_count) for s in gallery.sets.with_photo_counts()]


def make_sets(gallery, *names):
    return [PhotoSet.objects.create(gallery=gallery, name=name) for name in names]


def test_creating_sets_answers_each_as_json_and_puts_it_last(client, gallery):
    url = reverse("galleries:set_create", args=[gallery.pk])
    first = post_json(client, url, {"name": "Getting ready"})
    second = post_json(client, url, {"name": " Ceremony "})
    assert first.status_code == 201 and second.status_code == 201
    assert set(second.json()) == {"id", "name", "position", "photo_count"}
    assert second.json()["name"] == "Ceremony" and second.json()["photo_count"] == 0
    assert first.json()["position"] < second.json()["position"]
    assert sets_of(gallery) == [("Getting ready", 0, 0), ("Ceremony", 1, 0)]


def test_creating_a_set_from_the_page_without_javascript(client, gallery):
    response = client.post(reverse("galleries:set_create", args=[gallery.pk]), {"name": "Party"})
    settings_url = reverse("galleries:gallery_settings", args=[gallery.pk])
    assert response.status_code == 302 and response.url == settings_url
    page = client.get(settings_url)
    assert "Set “Party” added." in page.text and "Party" in page.text


@pytest.mark.parametrize("name, message", [("", "required"), ("x" * 101, "at most 100"), ("ceremony", "already has")])
def test_a_bad_set_name_is_a_400_with_the_field_and_changes_nothing(client, gallery, name, message):
    make_sets(gallery, "Ceremony")
    response = post_json(client, reverse("galleries:set_create", args=[gallery.pk]), {"name": name})
    assert response.status_code == 400
    assert message in response.json()["fields"]["name"][0]
    page = client.post(reverse("galleries:set_create", args=[gallery.pk]), {"name": name})
    assert page.status_code == 400 and message in page.text
    assert sets_of(gallery) == [("Ceremony", 0, 0)]


def test_renaming_a_set(client, gallery):
    ceremony, party = make_sets(gallery, "Ceremony", "Party")
    PhotoFactory(gallery=gallery, photo_set=party)
    response = post_json(client, reverse("galleries:set_rename", args=[gallery.pk, party.pk]), {"name": "Dancing"})
    assert response.status_code == 200
    assert response.json() == {"id": str(party.pk), "name": "Dancing", "position": 1, "photo_count": 1}
    taken = post_json(client, reverse("galleries:set_rename", args=[gallery.pk, party.pk]), {"name": "CEREMONY"})
    assert taken.status_code == 400 and "name" in taken.json()["fields"]
    same = post_json(client, reverse("galleries:set_rename", args=[gallery.pk, party.pk]), {"name": "dancing"})
    assert same.status_code == 200  # its own name in another case
    assert sets_of(gallery) == [("Ceremony", 0, 0), ("dancing", 1, 1)]


def test_reordering_sets(client, gallery):
    ready, ceremony, party = make_sets(gallery, "Getting ready", "Ceremony", "Party")
    url = reverse("galleries:set_order", args=[gallery.pk])
    response = post_json(client, url, {"set_ids": [str(party.pk), str(ready.pk), str(ceremony.pk)]})
    assert response.status_code == 200
    assert [(s["name"], s["position"]) for s in response.json()["sets"]] == [
        ("Party", 0),
        ("Getting ready", 1),
        ("Ceremony", 2),
    ]
    client.post(url, {"set_ids": [str(ceremony.pk)]})  # the ones left out follow, in their order
    assert [name for name, _, _ in sets_of(gallery)] == ["Ceremony", "Party", "Getting ready"]


def test_the_set_panels_arrows_post_the_order_with_one_set_moved(client, gallery):
    ready, ceremony, party = make_sets(gallery, "Getting ready", "Ceremony", "Party")
    page = client.get(reverse("galleries:gallery_settings", args=[gallery.pk])).text
    forms = page.split('action="' + reverse("galleries:set_order", args=[gallery.pk]) + '"')[1:]
    orders = [[value for value in form.split("</form>")[0].split('name="set_ids" value="')[1:]] for form in forms]
    orders = [[value.split('"')[0] for value in order] for order in orders]
    ids = [str(s.pk) for s in (ready, ceremony, party)]
    assert orders[2] == [ids[1], ids[0], ids[2]]  # "Ceremony" up
    assert orders[3] == [ids[0], ids[2], ids[1]]  # "Ceremony" down


def test_deleting_a_set_keeps_its_photos_in_the_gallery(client, gallery):
    ready, ceremony, party = make_sets(gallery, "Getting ready", "Ceremony", "Party")
    photo = PhotoFactory(gallery=gallery, photo_set=ceremony)
    response = post_json(client, reverse("galleries:set_delete", args=[gallery.pk, ceremony.pk]), {})
    assert response.status_code == 200
    assert [s["name"] for s in response.json()["sets"]] == ["Getting ready", "Party"]
    photo.refresh_from_db()
    assert photo.photo_set is None and gallery.photos.count() == 1
    assert sets_of(gallery) == [("Getting ready", 0, 0), ("Party", 1, 0)]
    again = client.post(reverse("galleries:set_delete", args=[gallery.pk, ceremony.pk]))
    assert again.status_code == 404


def test_moving_selected_photos_into_a_set_and_out_again(client, gallery):
    [ceremony] = make_sets(gallery, "Ceremony")
    photos = PhotoFactory.create_batch(3, gallery=gallery)
    url = reverse("galleries:photo_move", args=[gallery.pk])
    response = post_json(client, url, {"photo_ids": [str(photos[0].pk), str(photos[2].pk)], "set_id": str(ceremony.pk)})
    assert response.status_code == 200
    assert response.json() == {
        "moved": 2,
        "set": {"id": str(ceremony.pk), "name": "Ceremony", "position": 0, "photo_count": 2},
    }
    assert set(ceremony.photos.all()) == {photos[0], photos[2]}
    response = client.post(url, {"photo_ids": [str(photos[0].pk)], "set_id": ""})  # the page's form: no set
    assert response.status_code == 302
    assert list(ceremony.photos.all()) == [photos[2]]


def test_bad_moves_are_400s_with_their_fields_and_change_nothing(client, gallery):
    [ceremony] = make_sets(gallery, "Ceremony")
    photo = PhotoFactory(gallery=gallery)
    foreign_photo = PhotoFactory()
    [foreign_set] = make_sets(foreign_photo.gallery, "Theirs")
    url = reverse("galleries:photo_move", args=[gallery.pk])
    for data, field in [
        ({"photo_ids": [str(photo.pk)], "set_id": str(foreign_set.pk)}, "set_id"),
        ({"photo_ids": [str(photo.pk)], "set_id": UNKNOWN}, "set_id"),
        ({"photo_ids": [str(photo.pk)], "set_id": "ceremony"}, "set_id"),
        ({"photo_ids": [str(foreign_photo.pk)], "set_id": str(ceremony.pk)}, "photo_ids"),
        ({"photo_ids": [], "set_id": str(ceremony.pk)}, "photo_ids"),
    ]:
        response = post_json(client, url, data)
        assert response.status_code == 400, data
        assert field in response.json()["fields"], data
    bad_order = post_json(client, reverse("galleries:set_order", args=[gallery.pk]), {"set_ids": [str(foreign_set.pk)]})
    assert bad_order.status_code == 400 and "set_ids" in bad_order.json()["fields"]
    assert not ceremony.photos.exists() and foreign_photo.photo_set_id is None
    foreign_photo.refresh_from_db()
    assert foreign_photo.photo_set_id is None


def test_a_set_of_another_gallery_is_a_404_through_this_gallerys_urls(client, gallery):
    other = GalleryFactory(owner=gallery.owner)
    [theirs] = make_sets(other, "Other")
    assert client.post(reverse("galleries:set_rename", args=[gallery.pk, theirs.pk]), {"name": "x"}).status_code == 404
    assert client.post(reverse("galleries:set_delete", args=[gallery.pk, theirs.pk])).status_code == 404
    assert client.post(reverse("galleries:set_rename", args=[gallery.pk, UNKNOWN]), {"name": "x"}).status_code == 404
    assert sets_of(other) == [("Other", 0, 0)]


@pytest.mark.parametrize(
    "name, data",
    [
        ("set_create", {"name": "Mine"}),
        ("set_order", {"set_ids": []}),
        ("photo_move", {"photo_ids": []}),
        ("photo_order", {"photo_ids": []}),
        ("gallery_sort", {"sort": "manual"}),
    ],
)
def test_another_photographer_gets_404_and_anonymous_visitors_the_login(client, gallery, name, data):
    url = reverse(f"galleries:{name}", args=[gallery.pk])
    client.logout()
    assert client.post(url, data).status_code == 302
    client.force_login(UserFactory())
    assert post_json(client, url, data).status_code == 404
    gallery.refresh_from_db()
    assert gallery.sort == "capture_time" and not gallery.sets.exists()


def test_uploading_into_a_set(client, gallery, photo_storage):
    [ceremony] = make_sets(gallery, "Ceremony")
    url = reverse("galleries:photo_upload", args=[gallery.pk])
    response = client.post(url, {"photos": [jpeg_upload("IMG_0001.jpg")], "set_id": str(ceremony.pk)}, headers=JSON)
    assert response.status_code == 200
    client.post(url, {"photos": [jpeg_upload("IMG_0002.jpg", color=(20, 120, 60))]}, headers=JSON)
    assert [p.original_filename for p in ceremony.photos.all()] == ["IMG_0001.jpg"]
    assert gallery.photos.get(original_filename="IMG_0002.jpg").photo_set is None


def test_an_upload_into_an_unknown_set_stores_nothing(client, gallery, photo_storage, stored_keys):
    other = GalleryFactory()
    [theirs] = make_sets(other, "Theirs")
    url = reverse("galleries:photo_upload", args=[gallery.pk])
    response = client.post(url, {"photos": [jpeg_upload()], "set_id": str(theirs.pk)}, headers=JSON)
    assert response.status_code == 400 and "set_id" in response.json()["fields"]
    assert not gallery.photos.exists() and stored_keys(f"{gallery.pk}/") == []


def test_the_gallery_page_shows_sets_with_counts_and_a_heading_where_each_begins(client, gallery):
    ceremony, party, empty = make_sets(gallery, "Ceremony", "Party", "Empty")
    PhotoFactory(gallery=gallery, original_filename="loose.jpg")
    PhotoFactory.create_batch(2, gallery=gallery, photo_set=ceremony)
    PhotoFactory(gallery=gallery, photo_set=party)
    page = client.get(gallery.get_absolute_url()).text
    assert page.count('<li class="set-heading"') == 3  # photos of no set, then sets with photos: not "Empty"
    assert (
        f'id="set-{ceremony.pk}"' in page
        and f'id="set-{party.pk}"' in page
        and f'data-upload-set="{ceremony.pk}"' in page
    )
    assert "2 photos" in page and "Not in a set" in page
    # Uploads and moves may go into it: the upload box, the selection's move and each photo's menu.
    assert page.count(f'<option value="{empty.pk}">Empty</option>') == 2 + 4


def test_a_refused_set_order_names_sets_not_photos(client, gallery):
    ceremony, party = make_sets(gallery, "Ceremony", "Party")
    url = reverse("galleries:set_order", args=[gallery.pk])
    twice = post_json(client, url, {"set_ids": [str(ceremony.pk), str(ceremony.pk)]})
    not_ids = post_json(client, url, {"set_ids": [str(party.pk), "party"]})
    assert twice.status_code == 400 and not_ids.status_code == 400
    assert twice.json()["fields"]["set_ids"][0] == "A set is listed twice."
    assert not_ids.json()["fields"]["set_ids"][0] == "These are not all set ids."
    assert sets_of(gallery) == [("Ceremony", 0, 0), ("Party", 1, 0)]
