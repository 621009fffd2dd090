"""Layout on a phone and a desktop: what a client or photographer sees stays readable and usable
(nothing hidden behind a sticky bar, no control on top of text, no sideways scrolling)."""

import pytest
from playwright.sync_api import expect

from favourites.models import FavouriteList, FavouritesSettings
from favourites.tests.factories import FavouritesLinkFactory
from galleries.models import PhotoSet
from galleries.tests.factories import GalleryFactory, jpeg_upload
from galleries.uploads import store_photo
from sharing.tasks import link_mail
from tests.browser.helpers import SIZES, open_viewer, photographer_page, serious_accessibility_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def overlaps(a, b):
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def uncovered(page, selector):
    """Whether the middle of the element is what the visitor sees there (not something on top)."""
    return page.locator(selector).evaluate(
        """(element) => {
          const box = element.getBoundingClientRect();
          const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
          return box.bottom > 0 && element.contains(top);
        }"""
    )


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_viewers_heart_shows_its_label_beside_it_and_no_button_covers_the_photos_name(
    new_context, shared_gallery, size
):
    FavouritesSettings.objects.create(link=shared_gallery, favourites=True, favourites_title="Album picks")
    page = new_context(**SIZES[size]).new_page()
    page.goto(shared_gallery.get_absolute_url())
    open_viewer(page, 1)
    heart = page.locator("[data-viewer-heart]")
    icon, label = heart.locator("span").first.bounding_box(), page.locator("[data-viewer-heart-label]").bounding_box()
    assert abs((icon["y"] + icon["height"] / 2) - (label["y"] + label["height"] / 2)) < 4, (icon, label)
    title = page.locator("[data-viewer-name]").bounding_box()
    for nav in ("[data-viewer-prev]", "[data-viewer-next]"):
        assert not overlaps(page.locator(nav).bounding_box(), title), nav


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_favourites_count_stays_in_view_below_the_set_menu(new_context, size):
    gallery = GalleryFactory(name="Smith wedding")
    for name in ("Ceremony", "Party"):
        photo_set = PhotoSet.objects.create(gallery=gallery, name=name)
        for n in range(6):
            store_photo(gallery, jpeg_upload(f"{name}_{n}.jpg", width=90, height=60), photo_set)
    link = FavouritesLinkFactory(gallery=gallery, favourites=True)
    page = new_context(**SIZES[size]).new_page()
    page.goto(link.get_absolute_url())
    page.locator(f"#set-{photo_set.pk}").scroll_into_view_if_needed()
    page.mouse.wheel(0, 400)
    page.wait_for_timeout(200)
    assert page.locator("[data-set-menu]").bounding_box()["y"] == 0
    assert uncovered(page, ".favourites-bar__count")


def test_the_photographers_favourites_table_keeps_its_column_names_on_a_phone(new_context, live_server, shared_gallery):
    photo = shared_gallery.gallery.photos.first()
    favourite_list = FavouriteList(link=shared_gallery, name="Margaret")
    favourite_list.new_token()
    favourite_list.save()
    favourite_list.add(photo)
    page = photographer_page(new_context, shared_gallery.gallery.owner, live_server, size="phone")
    page.goto(f"/galleries/{shared_gallery.gallery.pk}/favourites/")
    labels = (
        page.locator(".favourites-lists tbody tr")
        .first.locator("td")
        .evaluate_all("(cells) => cells.map((cell) => getComputedStyle(cell, '::before').content)")
    )
    assert '"Photos"' in labels, labels  # each value has its column's name beside it
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_client_email_fits_a_phone(page, watcher, shared_gallery):
    watcher.allow("ERR_UNKNOWN_URL_SCHEME")  # the cover, cid:cover, is inside the mail
    page.set_viewport_size(SIZES["phone"]["viewport"])
    mail = link_mail("sharing/mail/invitation", shared_gallery, "anna@example.com", message="Hello!")
    page.set_content(mail.alternatives[0].content)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_share_links_facts_line_up_with_each_name_on_one_line(new_context, live_server, shared_gallery, size):
    page = photographer_page(new_context, shared_gallery.gallery.owner, live_server, size=size)
    page.goto("/share-links/")
    names = page.locator(".share-link__facts dt").evaluate_all(
        """(names) => names.map((name) =>
          [name.textContent, name.getBoundingClientRect().height, parseFloat(getComputedStyle(name).lineHeight)])"""
    )
    assert [text for text, height, line in names if height > line * 1.5] == []
    tops = page.locator(".share-link__facts > div").evaluate_all("(facts) => facts.map((fact) => fact.offsetTop)")
    rows = [tops.count(top) for top in sorted(set(tops))]
    assert len(set(rows[:-1])) <= 1 and rows[-1] >= rows[0] / 2, rows  # no fact left alone on a last row


def test_a_links_page_and_the_list_read_well_with_a_keyboard_and_a_screen_reader(
    new_context, live_server, shared_gallery
):
    page = photographer_page(new_context, shared_gallery.gallery.owner, live_server, size="phone")
    for path in ("/share-links/", shared_gallery.get_absolute_url().replace("/s/", "/share-links/")):
        page.goto(path)
        page.locator("details").evaluate_all("(all) => all.forEach((details) => { details.open = true; })")
        levels = page.locator("main :is(h1, h2, h3, h4)").evaluate_all("(all) => all.map((h) => Number(h.tagName[1]))")
        assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), (path, levels)  # no level skipped
        assert serious_accessibility_violations(page) == [], path  # e.g. a table that scrolls sideways takes focus


def look(locator):
    return locator.evaluate(
        "(el) => { const s = getComputedStyle(el); return [s.backgroundColor, s.borderTopColor, s.color]; }"
    )


def test_a_clients_buttons_look_like_buttons_and_the_filter_shows_when_it_is_on(new_context, shared_gallery):
    FavouritesSettings.objects.create(link=shared_gallery, favourites=True, favourites_comments=True)
    page = new_context(**SIZES["phone"]).new_page()
    page.goto(shared_gallery.get_absolute_url())
    review = page.locator("[data-favourites-review]")
    assert look(review)[1] not in ("rgba(0, 0, 0, 0)", "transparent"), "a ghost button has no outline on a touch screen"
    page.locator("[data-gallery] .tile").first.locator("[data-heart] button").click()
    page.locator("[data-favourites-start]").get_by_label("Your name").fill("Ana")
    page.locator("[data-favourites-start]").get_by_role("button", name="Start choosing").click()
    filter_button = page.locator("[data-favourites-filter]")
    before = look(filter_button)
    filter_button.click()
    page.wait_for_function("document.querySelector('[data-favourites-filter]').getAttribute('aria-pressed') === 'true'")
    page.mouse.click(5, 5)  # no hover or focus look in the way
    # Fails by timing out when the filter looks the same on and off (colours change in a transition).
    page.wait_for_function(
        "(before) => getComputedStyle(document.querySelector('[data-favourites-filter]')).backgroundColor !== before",
        arg=before[0],
        timeout=3000,
    )

    page.goto(shared_gallery.get_absolute_url() + "favourites/")
    card = page.locator(".favourites-grid .favourite").first
    lefts = [card.get_by_role("button", name=name).bounding_box()["x"] for name in ("Save comment", "Remove")]
    assert lefts[0] == lefts[1], lefts  # the card's buttons line up on the left


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_new_link_forms_choices_are_not_cut_off(new_context, live_server, shared_gallery, size):
    page = photographer_page(new_context, shared_gallery.gallery.owner, live_server, size=size)
    page.goto(f"/galleries/{shared_gallery.gallery.pk}/sharing/")
    cut = page.locator(".share-link-new select, form select").evaluate_all(
        """(selects) => selects.filter((select) => select.checkVisibility()).map((select) => {
          const style = getComputedStyle(select);
          const text = document.createElement("span");
          text.style.font = style.font;  // CSSOM, which the CSP allows
          text.style.position = "absolute";
          text.style.whiteSpace = "nowrap";
          text.textContent = select.selectedOptions[0].textContent;
          document.body.append(text);
          const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
          const room = select.clientWidth - padding - 16;  // the arrow
          const needed = text.getBoundingClientRect().width;
          text.remove();
          const what = `${select.name}: ${select.selectedOptions[0].textContent}`;
          return needed > room ? `${what} (${Math.round(needed)} > ${Math.round(room)})` : null;
        }).filter(Boolean)"""
    )
    assert cut == []


def test_on_a_phone_the_favourites_bar_takes_two_rows_at_most(new_context, shared_gallery):
    """It stays at the top of the window (under the set menu, if any): every row it takes is a row
    of photos fewer."""
    FavouritesSettings.objects.create(
        link=shared_gallery, favourites=True, favourites_title="Album selection", favourites_limit=40
    )
    page = new_context(**SIZES["phone"]).new_page()
    page.goto(shared_gallery.get_absolute_url())
    expect(page.locator("[data-favourites-filter]")).to_be_visible()
    tops = {
        round(page.locator(selector).bounding_box()["y"])
        for selector in ("[data-favourites-filter]", "[data-favourites-review]")
    }
    assert len(tops) == 1, tops  # the two buttons share a row, under the count


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_cards_header_is_as_close_to_what_follows_on_a_phone_as_on_a_desktop(
    new_context, live_server, shared_gallery, size
):
    page = photographer_page(new_context, shared_gallery.gallery.owner, live_server, size=size)
    page.goto(f"/galleries/{shared_gallery.gallery.pk}/settings/")
    gap = page.locator(".sets-panel").evaluate(
        "(panel) => panel.querySelector('#gallery-sort-help').getBoundingClientRect().top"
        " - panel.querySelector('.page-header').getBoundingClientRect().bottom"
    )
    assert gap == 16  # the stack's own spacing (--space-4), nothing added


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_checkbox_stays_beside_its_words_however_long(new_context, live_server, shared_gallery, size):
    page = photographer_page(new_context, shared_gallery.gallery.owner, live_server, size=size)
    page.goto("/accounts/profile/")
    apart = page.locator(".field--checkbox").evaluate_all(
        """(fields) => fields.map((field) => {
          const box = field.querySelector("input").getBoundingClientRect();
          const label = field.querySelector("label").getBoundingClientRect();
          return label.top < box.bottom && box.right < label.left ? null : field.querySelector("label").textContent;
        }).filter(Boolean)"""
    )
    assert apart == []


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_new_gallery_fields_example_is_not_cut_off(new_context, live_server, shared_gallery, size):
    page = photographer_page(new_context, shared_gallery.gallery.owner, live_server, size=size)
    page.goto("/galleries/")
    needed, room = page.locator(".new-gallery input[name=name]").evaluate(
        """(input) => {
          const style = getComputedStyle(input);
          const text = document.createElement("span");
          text.style.font = style.font;
          text.style.position = "absolute";
          text.style.whiteSpace = "nowrap";
          text.textContent = input.placeholder;
          document.body.append(text);
          const needed = text.getBoundingClientRect().width;
          text.remove();
          return [needed, input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)];
        }"""
    )
    assert needed <= room
    if size == "desktop":
        field, button = (
            page.locator(selector).bounding_box()
            for selector in (".new-gallery input[name=name]", ".new-gallery button")
        )
        assert button["y"] < field["y"] + field["height"], "the button fell under the field"


def test_the_share_link_filters_keep_their_distance_from_the_first_link(new_context, live_server, shared_gallery):
    page = photographer_page(new_context, shared_gallery.gallery.owner, live_server)
    page.goto("/share-links/")
    filters, card = (page.locator(selector).first.bounding_box() for selector in (".share-link-filters", ".share-link"))
    assert card["y"] - (filters["y"] + filters["height"]) >= 16
