"""accounts.throttling's rate limiter: counts per scope and key in a sliding window, on PostgreSQL,
correct when many requests arrive at once; consume() counts an action against all its limits."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts import throttling
from accounts.models import RateLimitHit

pytestmark = pytest.mark.django_db

WINDOW = timedelta(minutes=15)


def age_hits(**delta):
    RateLimitHit.objects.update(created_at=timezone.now() - timedelta(**delta))


def consumed(action, **keys):
    try:
        throttling.consume(action, **keys)
    except throttling.RateLimited:
        return False
    return True


@pytest.fixture
def action(monkeypatch):
    """An action of the tests' own: 3 per address and 5 per link in 15 minutes."""
    limits = (throttling.Limit("link address", 3, WINDOW), throttling.Limit("link", 5, WINDOW))
    monkeypatch.setitem(throttling.RATE_LIMITS, "test", throttling.Action(limits, "Wait {when}, after {limit}."))
    return "test"


def test_a_key_is_limited_once_it_has_limit_hits_in_the_window():
    for _ in range(9):
        throttling.record("share-password", "203.0.113.1 link-1")
    assert not throttling.is_limited("share-password", "203.0.113.1 link-1", limit=10, window=WINDOW)

    throttling.record("share-password", "203.0.113.1 link-1")

    assert throttling.is_limited("share-password", "203.0.113.1 link-1", limit=10, window=WINDOW)


def test_keys_and_scopes_are_counted_apart():
    for _ in range(3):
        throttling.record("share-password", "203.0.113.1 link-1")

    assert throttling.is_limited("share-password", "203.0.113.1 link-1", limit=3, window=WINDOW)
    assert not throttling.is_limited("share-password", "203.0.113.1 link-2", limit=3, window=WINDOW)
    assert not throttling.is_limited("invitation-mail", "203.0.113.1 link-1", limit=3, window=WINDOW)


def test_hits_older_than_the_window_do_not_count():
    for _ in range(3):
        throttling.record("share-password", "key")
    age_hits(minutes=16)

    assert not throttling.is_limited("share-password", "key", limit=3, window=WINDOW)
    assert throttling.is_limited("share-password", "key", limit=3, window=timedelta(minutes=20))


def test_retry_after_is_when_enough_hits_have_left_the_window():
    throttling.record("share-password", "key")
    age_hits(minutes=10)  # the oldest leaves the window in 5 minutes
    throttling.record("share-password", "key")
    throttling.record("share-password", "key")

    assert throttling.retry_after("share-password", "key", limit=4, window=WINDOW) == 0
    seconds = throttling.retry_after("share-password", "key", limit=3, window=WINDOW)
    assert 5 * 60 - 2 <= seconds <= 5 * 60
    # With a limit of two, the second-newest hit must leave too: about 15 minutes.
    assert 15 * 60 - 2 <= throttling.retry_after("share-password", "key", limit=2, window=WINDOW) <= 15 * 60


def test_consume_records_until_the_limit_and_not_after(action):
    results = [consumed(action, link=1, address="ana@example.com") for _ in range(5)]

    assert results == [True, True, True, False, False]
    assert RateLimitHit.objects.count() == 3 * 2  # a hit for each limit


def test_consume_takes_every_hit_back_when_any_limit_is_passed_and_says_when_to_retry(action):
    for n in range(5):
        throttling.consume(action, link=1, address=f"203.0.113.{n}")
    kept = RateLimitHit.objects.count()

    with pytest.raises(throttling.RateLimited) as refused:
        throttling.consume(action, link=1, address="203.0.113.9")  # within its address's limit, past the link's

    assert RateLimitHit.objects.count() == kept
    assert 15 * 60 - 2 <= refused.value.retry_after <= 15 * 60
    assert str(refused.value) == "Wait in 15 minutes, after 3."
    assert consumed(action, link=2, address="203.0.113.9")


def test_hits_taken_back_do_not_count(action):
    for _ in range(5):
        throttling.consume(action, link=1, address="203.0.113.1").take_back()

    assert not RateLimitHit.objects.exists()
    assert consumed(action, link=1, address="203.0.113.1")


def test_a_limit_may_read_its_number_from_the_settings(settings):
    settings.VIEWPORT_MAIL_RECIPIENTS_PER_DAY = 4
    assert consumed("mail-recipients", count=4, photographer="p1")
    assert not consumed("mail-recipients", photographer="p1")


def test_keys_are_stored_as_keyed_hashes():
    throttling.record("reset", "ana@example.com")

    key = RateLimitHit.objects.get().key
    assert "ana" not in key and len(key) == 64


def test_recording_prunes_hits_older_than_any_window():
    throttling.record("reset", "old")
    age_hits(days=1, minutes=1)
    throttling.record("reset", "new")

    assert RateLimitHit.objects.count() == 1


def test_windows_longer_than_the_pruning_age_are_refused():
    with pytest.raises(ValueError):
        throttling.is_limited("reset", "key", limit=1, window=timedelta(days=2))


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_get_no_more_than_the_limit(monkeypatch):
    assert connection.vendor == "postgresql"
    limit, requests = 5, 24
    monkeypatch.setitem(
        throttling.RATE_LIMITS, "concurrent", throttling.Action((throttling.Limit("address", limit, WINDOW),))
    )
    start = threading.Barrier(requests)
    results = []

    def one_request():
        start.wait()
        try:
            results.append(consumed("concurrent", address="203.0.113.1"))
        finally:
            connection.close()

    for _ in range(3):  # a race lost once in a while is still lost
        RateLimitHit.objects.all().delete()
        results.clear()
        threads = [threading.Thread(target=one_request) for _ in range(requests)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # Never more than the limit (a burst may be refused beyond it: hits being taken back still count).
        assert results.count(True) <= limit
        assert RateLimitHit.objects.count() == results.count(True)


def test_every_limit_is_in_the_table_with_the_numbers_the_readme_and_security_notes_give():
    quarter, hour, day = timedelta(minutes=15), timedelta(hours=1), timedelta(days=1)
    table = {
        action: [
            (limit.per, limit.size, limit.span) + (("challenge",) if limit.challenge else ()) for limit in rules.limits
        ]
        for action, rules in throttling.RATE_LIMITS.items()
    }
    assert table == {
        "login": [("account", 5, quarter), ("address", 5, quarter)],
        "current-password": [("account", 10, quarter)],
        # The 4th and 5th account of a network's hour need a solved challenge.
        "signup": [("network", 5, hour), ("network", 3, hour, "challenge")],
        "password-reset": [("network", 10, hour), ("address", 3, hour)],
        # Past 20 wrong tries in an hour, each try on the link needs a solved challenge.
        "link-password": [("link network", 10, quarter), ("network", 30, quarter), ("link", 20, hour, "challenge")],
        # A link's password typed again to send it by e-mail: wrong ones per account and link.
        "send-link-password": [("account link", 10, hour)],
        "link-registration": [("link network", 60, hour)],
        "favourites-start": [("link network", 5, hour)],
        "favourites-resume-mail": [("link", 60, hour)],
        "mail-recipients": [("photographer", 200, day)],
        "visitor-mail": [("link address", 1, day), ("link", 100, day), ("photographer", 200, day)],
        "download-pin": [("link network", 10, quarter), ("network", 30, quarter), ("link", 20, hour, "challenge")],
        "challenge-solution": [("solution", 1, day)],
        "address-confirmation": [("account", 3, hour), ("network", 10, hour), ("address", 5, day)],
        # Each watermark post decodes an image; each save has the worker remake watermarked galleries.
        "watermark-preview": [("account", 200, quarter)],
        "watermark-save": [("account", 20, hour)],
        "link-create": [("account", 200, hour)],
        "link-update": [("account", 300, hour)],
        # The photographer's warning that a link is being guessed: one mail a day per link.
        "guessing-alert": [("link", 1, day)],
    }
