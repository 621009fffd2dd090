"""Proof-of-work challenges (ALTCHA) for forms under attack: the link password, the download PIN
and signup, once their challenge limits in accounts.throttling.RATE_LIMITS are passed.

The browser fetches a challenge (`accounts:challenge`), finds by brute force the counter whose
PBKDF2 key starts with a zero byte (the vendored widget, static/vendor/altcha: proof-of-work
v2, which the `altcha` library 2.x speaks), and posts the solution with the form as `altcha`.
A real browser spends about a second on it, once per try; a mass guesser that much per guess.
Challenges are signed with a key derived from SECRET_KEY, expire, and each solution is good for
one try.
"""

from datetime import timedelta

import altcha
from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts import throttling

ALGORITHM = "PBKDF2/SHA-256"
LIFETIME = timedelta(minutes=30)
# The field the widget posts its solution in.
FIELD = "altcha"


def _key():
    return salted_hmac("accounts.challenges", "altcha", algorithm="sha256").hexdigest()


def new_challenge():
    """A signed challenge, as the widget fetches it (a dict for JSON)."""
    challenge = altcha.create_challenge(
        algorithm=ALGORITHM,
        cost=settings.VIEWPORT_CHALLENGE_COST,
        expires_at=timezone.now() + LIFETIME,
        hmac_secret=_key(),
    )
    return challenge.to_dict()


def is_solved(data):
    """Whether the submitted `data` (a form's or a JSON body's fields) carries a solution of one
    of our challenges, not expired and not used before. A solution counts once, even when two
    requests bring it at the same moment."""
    payload = data.get(FIELD, "") if data else ""
    if not payload or len(payload) > 4000:
        return False
    result = altcha.verify_solution(payload, _key())
    if not result.verified:
        return False
    # Counted by the challenge's signature: the same solution spelled another way is still used.
    signature = altcha.Payload.from_base64(payload).challenge.signature
    try:
        throttling.consume("challenge-solution", solution=signature)
    except throttling.RateLimited:
        return False
    return True
