"""accounts.throttling.client_address: the only reader of X-Forwarded-For. With N proxies in front,
the client is the N-th entry from the right (what the outermost proxy appended); entries further
left were written by the client. Anything malformed falls back to the socket's address."""

import pytest
from django.test import RequestFactory

from accounts.throttling import client_address, client_network

PROXY = "10.0.0.2"


def address(forwarded_for=None, remote=PROXY):
    meta = {"REMOTE_ADDR": remote}
    if forwarded_for is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client_address(RequestFactory().get("/", **meta))


@pytest.mark.parametrize(
    "forwarded_for, expected",
    [
        ("203.0.113.7", "203.0.113.7"),  # nginx: $proxy_add_x_forwarded_for with no header from the client
        ("192.0.2.1, 203.0.113.7", "203.0.113.7"),  # the client wrote 192.0.2.1 itself
        ("192.0.2.1,203.0.113.7", "203.0.113.7"),
        ("  203.0.113.7  ", "203.0.113.7"),
        ("not an address, 203.0.113.7", "203.0.113.7"),
        ("2001:DB8:0:0::7", "2001:db8::7"),  # one spelling per address
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("[2001:db8::7]:51234", "2001:db8::7"),  # proxies that add the client's port
        ("203.0.113.7:51234", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::1"),
    ],
)
def test_behind_one_proxy_the_client_is_the_last_entry(settings, forwarded_for, expected):
    settings.VIEWPORT_PROXY_COUNT = 1

    assert address(forwarded_for) == expected


@pytest.mark.parametrize(
    "forwarded_for",
    [
        None,
        "",
        " ",
        ",",
        "unknown",
        "192.0.2.1, ",
        "192.0.2.1, garbage",
        "999.1.1.1",
        "x" * 5000,
        "\x00",
        "1.2.3.4\x00",
    ],
)
def test_a_missing_or_malformed_last_entry_falls_back_to_the_socket_address(settings, forwarded_for):
    settings.VIEWPORT_PROXY_COUNT = 1

    assert address(forwarded_for) == PROXY


def test_behind_two_proxies_the_client_is_the_second_entry_from_the_right(settings):
    settings.VIEWPORT_PROXY_COUNT = 2

    assert address("192.0.2.1, 203.0.113.7, 10.0.0.9") == "203.0.113.7"
    assert address("203.0.113.7, 10.0.0.9") == "203.0.113.7"
    # Fewer entries than proxies: it did not come through both; only the socket is sure.
    assert address("203.0.113.7") == PROXY


def test_without_proxies_the_header_is_ignored(settings):
    settings.VIEWPORT_PROXY_COUNT = 0

    assert address("203.0.113.7", remote="198.51.100.4") == "198.51.100.4"


def test_a_socket_address_that_is_no_ip_address_is_still_an_address(settings):
    settings.VIEWPORT_PROXY_COUNT = 0

    assert address(remote="") == "0.0.0.0"
    assert address(remote="unix:/run/gunicorn.sock") == "0.0.0.0"


@pytest.mark.parametrize(
    "forwarded_for, expected",
    [
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1::/56"),
        ("[2001:db8:1:2::7]:443", "2001:db8:1::/56"),
        ("2001:db8:1:ff::7", "2001:db8:1::/56"),  # another /64 of the same home
        ("2001:db8:1:100::7", "2001:db8:1:100::/56"),
        ("garbage", PROXY),
    ],
)
def test_limits_per_client_count_an_ipv6_client_by_its_56(settings, forwarded_for, expected):
    settings.VIEWPORT_PROXY_COUNT = 1

    assert client_network(RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)) == expected
