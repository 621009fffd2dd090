"""Requests the accounts tests send as a client behind the site's proxy."""

from django.urls import reverse

PROXY = "10.0.0.2"


def log_in(client, email, password, ip="203.0.113.1", *, proxy=PROXY, spoofed="198.51.100.99", field="email"):
    """A login POST from client `ip` through `proxy`, as the proxy passes it on: REMOTE_ADDR is the
    proxy, X-Forwarded-For ends with `ip`, after `spoofed`, an entry the client wrote itself."""
    forwarded_for = f"{spoofed}, {ip}" if spoofed else ip
    return client.post(
        reverse("accounts:login"),
        {field: email, "password": password},
        REMOTE_ADDR=proxy,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )
