from django import forms

from accounts.models import refuse_control_characters, validate_mail_address
from favourites.models import FavouriteList, FavouritesSettings


class StartListForm(forms.ModelForm):
    """Who is choosing: a name always, an e-mail address when the photographer asks for one."""

    class Meta:
        model = FavouriteList
        fields = ["name", "email"]
        labels = {"name": "Your name", "email": "Your e-mail address"}
        help_texts = {"email": "We send you a link to come back to your favourites from any device."}
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "name"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
        }

    def __init__(self, link, *args, registered=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.link = link
        self.fields["name"].validators.append(refuse_control_characters)
        self.fields["email"].validators.append(validate_mail_address)
        self.fields["email"].required = FavouritesSettings.of(link).favourites_require_email
        if registered is not None:
            # A visitor who gave their address to open the link: the list is theirs, by that address.
            self.fields["email"].disabled = True
            self.initial["email"] = registered.email
            self.fields["name"].required = False
            self.initial.setdefault("name", registered.name)
        self.registered = registered
        self.token = None

    def clean_name(self):
        name = self.cleaned_data["name"]
        if not name and self.registered is not None:
            return self.registered.name or self.registered.email.split("@")[0]
        return name

    def save(self, commit=True):
        self.token = self.instance.new_token()
        return super().save(commit)


class CommentForm(forms.Form):
    comment = forms.CharField(max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2}))
