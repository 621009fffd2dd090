import uuid

from django import forms
from django.db import transaction

from galleries import ordering
from galleries.models import SLIDESHOW_SECONDS, CoverLayout, Gallery, GridSpacing, PhotoSet
from galleries.ordering import Sort


class GalleryForm(forms.ModelForm):
    name = forms.CharField(
        label="Gallery name",
        max_length=200,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Autumn engagement"}),
    )

    class Meta:
        model = Gallery
        fields = ["name"]


class PresentationForm(forms.ModelForm):
    """How clients see the gallery. What a request leaves out keeps its value, so a script may
    send one key; except that the page's form posts every setting and a browser leaves an unticked
    box out: in a post with all three choices, a missing `show_filenames` is off. Scripts say
    true or false."""

    CHOICES = ["cover_layout", "grid_spacing", "slideshow_seconds"]

    slideshow_seconds = forms.IntegerField(
        label="Slideshow: seconds per photo",
        min_value=SLIDESHOW_SECONDS[0],
        max_value=SLIDESHOW_SECONDS[1],
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "min_value": f"Choose {SLIDESHOW_SECONDS[0]} to {SLIDESHOW_SECONDS[1]} seconds.",
            "max_value": f"Choose {SLIDESHOW_SECONDS[0]} to {SLIDESHOW_SECONDS[1]} seconds.",
            "invalid": f"Choose {SLIDESHOW_SECONDS[0]} to {SLIDESHOW_SECONDS[1]} seconds.",
        },
    )

    class Meta:
        model = Gallery
        fields = ["cover_layout", "grid_spacing", "show_filenames", "slideshow_seconds"]
        labels = {
            "cover_layout": "Cover",
            "grid_spacing": "Space between photos",
            "show_filenames": "Show file names to clients",
        }
        help_texts = {"show_filenames": "Downloads keep their names either way."}
        widgets = {"cover_layout": forms.RadioSelect}

    def __init__(self, data=None, *args, from_json=False, **kwargs):
        super().__init__(data, *args, **kwargs)
        for name, choices in (("cover_layout", CoverLayout), ("grid_spacing", GridSpacing)):
            self.fields[name].error_messages["invalid_choice"] = f"Choose one of {', '.join(choices.values)}."
        self.json_show_filenames = data.get("show_filenames") if from_json and data else None
        if data is not None:
            self.data = data.copy()
            every_choice = not from_json and all(name in data for name in self.CHOICES)
            for name in self.Meta.fields:
                if name not in data and not (name == "show_filenames" and every_choice):
                    value = getattr(self.instance, name)
                    self.data[name] = ("true" if value else "false") if isinstance(value, bool) else value

    def clean(self):
        cleaned_data = super().clean()
        if self.json_show_filenames is not None and self.json_show_filenames not in ("true", "false"):
            self.add_error("show_filenames", "Use true or false.")
        return cleaned_data


class CoverForm(forms.Form):
    """The gallery's cover: `photo_id` (empty clears it), or the one photo of a selection
    (`photo_ids`, as the selection's "Set as cover" posts it)."""

    photo_id = forms.UUIDField(required=False)

    def __init__(self, gallery, data=None, *args, **kwargs):
        self.gallery = gallery
        selected = data.getlist("photo_ids") if data is not None and "photo_id" not in data else []
        if len(selected) == 1:
            data = data.copy()
            data["photo_id"] = selected[0]
        super().__init__(data, *args, **kwargs)
        self.selected_many = len(selected) > 1

    def clean(self):
        if self.selected_many:
            self.add_error("photo_id", "Select just one photo to make it the cover.")
        return super().clean()

    def clean_photo_id(self):
        photo_id = self.cleaned_data["photo_id"]
        if photo_id and not self.gallery.photos.filter(pk=photo_id).exists():
            raise forms.ValidationError("That photo is not in this gallery.")
        return photo_id

    def save(self):
        self.gallery.cover_photo_id = self.cleaned_data["photo_id"]
        self.gallery.save(update_fields=["cover_photo", "updated_at"])
        return self.gallery


class PhotoSelectionForm(forms.Form):
    photo_ids = forms.TypedMultipleChoiceField(coerce=str, error_messages={"required": "Select at least one photo."})

    def __init__(self, gallery, *args, **kwargs):
        self.gallery = gallery
        super().__init__(*args, **kwargs)
        self.fields["photo_ids"].choices = [(str(pk), str(pk)) for pk in gallery.photos.values_list("pk", flat=True)]

    def save(self):
        """Delete the selected photos (their files follow once the transaction commits)."""
        deleted, _ = self.gallery.photos.filter(pk__in=self.cleaned_data["photo_ids"]).delete()
        return deleted


class PhotoSetForm(forms.ModelForm):
    """A new set's name, or a set's new name: unique in its gallery, whatever the case."""

    name = forms.CharField(
        label="Set name", max_length=100, strip=True, widget=forms.TextInput(attrs={"placeholder": "e.g. Ceremony"})
    )

    class Meta:
        model = PhotoSet
        fields = ["name"]

    def clean_name(self):
        name = self.cleaned_data["name"]
        if self.instance.gallery.sets.filter(name__iexact=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("This gallery already has a set of that name.")
        return name


class MultipleUUIDField(forms.Field):
    """A list of ids, from a form's repeated field or a JSON list (of photos, unless its
    error_messages say what else)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": "These are not all photo ids.", "duplicate": "A photo is listed twice."}

    def to_python(self, value):
        values = value if isinstance(value, (list, tuple)) else [value] if value else []
        try:
            ids = [uuid.UUID(str(item)) for item in values]
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if len(set(ids)) < len(ids):
            raise forms.ValidationError(self.error_messages["duplicate"], code="duplicate")
        return ids


class SetChoiceField(forms.ModelChoiceField):
    """One of the gallery's sets, by id (GalleryChangeForm sets the choices); empty means no set."""

    def __init__(self):
        super().__init__(
            PhotoSet.objects.none(),
            required=False,
            error_messages={"invalid_choice": "That set is not in this gallery."},
        )


class GalleryChangeForm(forms.Form):
    """A form about one gallery's photos: it takes ids of the gallery's own photos and sets only."""

    def __init__(self, gallery, *args, **kwargs):
        self.gallery = gallery
        super().__init__(*args, **kwargs)
        if "set_id" in self.fields:
            self.fields["set_id"].queryset = gallery.sets.all()

    def check_photos(self, ids):
        if ids and self.gallery.photos.filter(pk__in=ids).count() < len(set(ids)):
            raise forms.ValidationError("That photo is not in this gallery.")
        return ids


class UploadSetForm(GalleryChangeForm):
    """Which set an upload goes into (none by default)."""

    set_id = SetChoiceField()


class UploadStartForm(UploadSetForm):
    """A file the page's uploader asks to upload (galleries.uploads.start_upload)."""

    name = forms.CharField(max_length=1000, error_messages={"required": "Say the file's name."})
    size = forms.IntegerField(
        min_value=1,
        error_messages={"required": "Say the file's size in bytes.", "min_value": "This file is empty."},
    )
    type = forms.CharField(max_length=100, required=False)
    sha256 = forms.RegexField(
        regex=r"^[0-9a-fA-F]{64}$",
        error_messages={
            "required": "Say the file's SHA-256.",
            "invalid": "The SHA-256 must be 64 hexadecimal digits.",
        },
    )

    def clean_sha256(self):
        return self.cleaned_data["sha256"].lower()


class PhotoMoveForm(GalleryChangeForm):
    """Move the selected photos into a set, or out of every set."""

    photo_ids = MultipleUUIDField(error_messages={"required": "Select at least one photo."})
    set_id = SetChoiceField()

    def clean_photo_ids(self):
        return self.check_photos(self.cleaned_data["photo_ids"])

    def save(self):
        photo_set = self.cleaned_data["set_id"]
        with transaction.atomic():
            moving = list(self.gallery.ordered_photos().filter(pk__in=self.cleaned_data["photo_ids"]))
            ordering.move_to_set(self.gallery.photos, moving, photo_set)
        return len(moving), photo_set


class SetOrderForm(GalleryChangeForm):
    """The sets in a new order; sets left out follow the listed ones, in their old order."""

    set_ids = MultipleUUIDField(
        error_messages={
            "required": "List the sets in their new order.",
            "invalid": "These are not all set ids.",
            "duplicate": "A set is listed twice.",
        }
    )

    def clean_set_ids(self):
        ids = self.cleaned_data["set_ids"]
        if self.gallery.sets.filter(pk__in=ids).count() < len(ids):
            raise forms.ValidationError("That set is not in this gallery.")
        return ids

    def save(self):
        rank = {pk: number for number, pk in enumerate(self.cleaned_data["set_ids"])}
        photo_sets = sorted(self.gallery.sets.all(), key=lambda s: (rank.get(s.pk, len(rank)), s.position))
        PhotoSet.objects.renumber(photo_sets)


class SortForm(forms.Form):
    sort = forms.ChoiceField(label="Order photos by", choices=Sort.choices)

    def __init__(self, gallery, *args, **kwargs):
        self.gallery = gallery
        super().__init__(*args, **kwargs)

    def save(self):
        self.gallery.change_sort(self.cleaned_data["sort"])


class PhotoOrderForm(GalleryChangeForm):
    """The photographer's own order, which it switches the gallery to. Either `photo_ids`, some or
    all of the gallery's photos in their new order (each stays in its set), or one `photo_id`
    with where it goes: right after `after_id` (joining that photo's set), or at `position`
    (from 1) in its set, or with neither, first in its set. `set_id` moves it into another set
    first (empty: no set)."""

    photo_ids = MultipleUUIDField(required=False)
    photo_id = forms.UUIDField(required=False)
    after_id = forms.UUIDField(required=False)
    position = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)
    set_id = SetChoiceField()

    def clean_photo_ids(self):
        return self.check_photos(self.cleaned_data["photo_ids"])

    def clean_photo_id(self):
        self.check_photos([self.cleaned_data["photo_id"]] if self.cleaned_data["photo_id"] else [])
        return self.cleaned_data["photo_id"]

    def clean_after_id(self):
        self.check_photos([self.cleaned_data["after_id"]] if self.cleaned_data["after_id"] else [])
        return self.cleaned_data["after_id"]

    def clean(self):
        data = super().clean()
        if bool(data.get("photo_ids")) == bool(data.get("photo_id")) and not self.errors:
            raise forms.ValidationError("Send either photo_ids in their new order, or one photo_id and where it goes.")
        if data.get("photo_id") and data["photo_id"] == data.get("after_id"):
            self.add_error("after_id", "A photo cannot go after itself.")
        if data.get("after_id") and data.get("position"):
            self.add_error("position", "Send after_id or position, not both.")
        if data.get("after_id") and "set_id" in self.data:
            self.add_error("set_id", "A photo placed after another joins that photo's set.")
        return data

    def save(self):
        photos = self.gallery.photos
        with transaction.atomic():
            self.gallery.change_sort(Sort.MANUAL)
            if self.cleaned_data["photo_ids"]:
                ordering.arrange(photos, self.cleaned_data["photo_ids"])
                return self.cleaned_data["photo_ids"]
            photo = photos.get(pk=self.cleaned_data["photo_id"])
            if self.cleaned_data["after_id"]:
                ordering.place(photos, photo, after=photos.get(pk=self.cleaned_data["after_id"]))
            else:
                set_id = self.cleaned_data["set_id"].pk if self.cleaned_data["set_id"] else None
                set_id = set_id if "set_id" in self.data else photo.photo_set_id
                ordering.place(photos, photo, after=self.anchor(set_id, photo), photo_set_id=set_id)
            return [photo.pk]

    def anchor(self, set_id, photo):
        """The photo that `photo` goes after to be at `position` in the set `set_id`, if any."""
        position = self.cleaned_data["position"]
        if not position or position == 1:
            return None
        others = self.gallery.photos.filter(photo_set_id=set_id).exclude(pk=photo.pk).order_by("position", "pk")
        return others[position - 2 : position - 1].first() or others.last()
