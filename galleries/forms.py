from django import forms

from galleries.models import Gallery


class GalleryForm(forms.ModelForm):
    name = forms.CharField(
        label="Gallery name", max_length=200, strip=True, widget=forms.TextInput(attrs={"placeholder": "e.g. Autumn engagement"})
    )

    class Meta:
        model = Gallery
        fields = ["name"]


class CoverForm(forms.Form):
    photo_id = forms.UUIDField(required=False)

    def __init__(self, gallery, *args, **kwargs):
        self.gallery = gallery
        super().__init__(*args, **kwargs)

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
