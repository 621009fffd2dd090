"""Store every e-mail address normalised (UserManager.normalize_email: NFKC and case folding), as
login, signup and password reset now compare them exactly.

An address whose normalised form another account already has (or shares with another address
being normalised) is left as it is and named by account id in the output: two accounts that are
one address to the login need a person to decide which one keeps it.
"""

from django.db import IntegrityError, migrations, transaction


def normalise_emails(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    stored = dict(User.objects.values_list("pk", "email"))
    owners = {}
    for pk, email in stored.items():
        owners.setdefault(User.objects.normalize_email(email), []).append(pk)
    left_alone = []
    for normalised, pks in owners.items():
        changes = [pk for pk in pks if stored[pk] != normalised]
        if len(pks) > 1:
            left_alone += changes
            continue
        for pk in changes:
            try:
                with transaction.atomic():
                    User.objects.filter(pk=pk).update(email=normalised)
            except IntegrityError:
                left_alone.append(pk)
    if left_alone:
        print(
            f"\n  Left unchanged, as another account has the same address once normalised: "
            f"users {', '.join(str(pk) for pk in sorted(left_alone, key=str))}. Logins and password resets "
            "reach the other account; merge the two or give one of them another address."
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_rate_limit_hits_and_display_name_check")]

    operations = [migrations.RunPython(normalise_emails, migrations.RunPython.noop)]
