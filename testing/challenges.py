"""Solving the site's proof-of-work challenges (accounts.challenges) as a browser's widget does,
for tests that post forms under attack without a browser."""

import altcha
from django.urls import reverse


def solution(client):
    """A solved challenge fetched through `client`, as the widget posts it (the `altcha` field)."""
    challenge = altcha.Challenge.from_dict(client.get(reverse("accounts:challenge")).json())
    solved = altcha.solve_challenge(challenge, timeout=30)
    assert solved is not None, "the challenge could not be solved"
    return altcha.Payload(challenge, solved).to_base64()
