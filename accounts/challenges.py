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


# The most a challenge costs, in times VIEWPORT_CHALLENGE_COST.
MAX_COST_FACTOR = 8
# The actions whose challenges grow harder with a link's wrong tries.
LINK_ACTIONS = ("link-password", "download-pin")


def cost(action=None, **keys):
    """The PBKDF2 iterations of a challenge for `action` on these keys (`link=…`): the base
    VIEWPORT_CHALLENGE_COST (about a second in a browser), doubled each time the wrong tries in
    the challenge limit's window double again past that limit: 2x from 2 times the limit, 4x from
    4, at most MAX_COST_FACTOR. A link under a mass guessing attack makes each guess dearer."""
    base = settings.VIEWPORT_CHALLENGE_COST
    over = throttling.challenge_pressure(action, **keys) if action else 0
    return base * min(MAX_COST_FACTOR, 1 << (over.bit_length() - 1)) if over else base


def new_challenge(iterations=None):
    """A signed challenge of `iterations` (the base cost if None), as the widget fetches it (a
    dict for JSON)."""
    challenge = altcha.create_challenge(
        algorithm=ALGORITHM,
        cost=iterations or settings.VIEWPORT_CHALLENGE_COST,
        expires_at=timezone.now() + LIFETIME,
        hmac_secret=_key(),
    )
    return challenge.to_dict()


def is_solved(data, iterations=None):
    """Whether the submitted `data` (a form's or a JSON body's fields) carries a solution of one
    of our challenges of at least `iterations` (the base cost if None), not expired and not used
    before. A solution counts once, even when two requests bring it at the same moment."""
    payload = data.get(FIELD, "") if data else ""
    if not payload or len(payload) > 4000:
        return False
    result = altcha.verify_solution(payload, _key())
    if not result.verified:
        return False
    challenge = altcha.Payload.from_base64(payload).challenge
    if challenge.parameters.cost < (iterations or settings.VIEWPORT_CHALLENGE_COST):
        return False  # a cheaper challenge, fetched for another form or before the attack grew
    # Counted by the challenge's signature: the same solution spelled another way is still used.
    signature = challenge.signature
    try:
        throttling.consume("challenge-solution", solution=signature)
    except throttling.RateLimited:
        return False
    return True
