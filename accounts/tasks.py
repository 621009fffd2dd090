"""Background tasks of accounts: e-mail to photographers about their own work."""

from django.tasks import task
from django.utils import timezone

from accounts.mail import compose, confirmation_mail, send_once
from accounts.models import User

# Each kind of notification, the profile switch that turns it off and what the mail calls it
# there. Templates: templates/accounts/mail/<kind>_subject.txt, <kind>.txt and <kind>.html.
NOTIFICATIONS = {
    "favourites": ("notify_favourites", "these notices"),
    "daily_digest": ("notify_daily_digest", "this summary"),
    # A share link being guessed (sharing.access.warn_photographer_of_guessing): a security
    # warning, sent to every photographer.
    "guessing": (None, ""),
}


@task
def notify_photographer(user_id, kind, key, context, sender_name="", reply_to=""):
    """E-mail a photographer a notification of `kind`, rendered with `context` (JSON: strings,
    numbers, lists, dicts), once per `key`, unless they switched that kind off. `sender_name`
    and `reply_to` say who the news is from (a client, whom the photographer may answer).
    Returns whether a mail was sent."""
    switch, notice = NOTIFICATIONS[kind]
    user = User.objects.filter(pk=user_id, is_active=True).first()
    # An address nobody confirmed may be someone else's: it gets nothing but its confirmation.
    if user is None or not user.is_email_verified or (switch and not getattr(user, switch)):
        return False
    context = {**context, "user": user, "notice": notice}
    with timezone.override(user.zone):  # times in the mail are the photographer's
        mail = compose(f"accounts/mail/{kind}", context, user.email, sender_name=sender_name, reply_to=reply_to)
    return send_once(f"notify:{kind}:{key}", mail)


@task
def send_address_confirmation(user_id):
    """Mail the account a link to confirm its address (made here, so no token waits in the queue)."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or user.is_email_verified:
        return False
    confirmation_mail(user).send()
    return True
