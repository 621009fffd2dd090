"""Solving the site's proof-of-work challenges (accounts.challenges) as a browser's widget does,
for tests that post forms under attack without a browser."""

import altcha
from django.urls import reverse

from accounts import challenges


def solution(client=None, link=None, action=None):
    """A solved challenge fetched through `client` (or made here), as the widget posts it (the
    `altcha` field); for `action` on a share `link`, as hard as its wrong tries make it."""
    if link is not None:
        data = challenges.new_challenge(challenges.cost(action, link=link.pk))
    else:
        data = client.get(reverse("accounts:challenge")).json() if client else challenges.new_challenge()
    challenge = altcha.Challenge.from_dict(data)
    solved = altcha.solve_challenge(challenge, timeout=30)
    assert solved is not None, "the challenge could not be solved"
    return altcha.Payload(challenge, solved).to_base64()
