"""accounts.throttling's rate limiter: counts per scope and key in a sliding window, on PostgreSQL,
correct when many requests arrive at once."""

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


def test_try_record_records_until_the_limit_and_not_after():
    results = [bool(throttling.try_record("reset", "ana@example.com", limit=3, window=WINDOW)) for _ in range(5)]

    assert results == [True, True, True, False, False]
    assert RateLimitHit.objects.count() == 3


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
def test_concurrent_requests_get_no_more_than_the_limit():
    assert connection.vendor == "postgresql"
    limit, requests = 5, 24
    start = threading.Barrier(requests)
    results = []

    def one_request():
        start.wait()
        try:
            results.append(bool(throttling.try_record("concurrent", "203.0.113.1", limit=limit, window=WINDOW)))
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
