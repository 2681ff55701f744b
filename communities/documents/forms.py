"""Forms for the document pages: they check the shape of input; actions decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from communities.documents import uploads
from communities.documents.models import AccessLevel, Retention
from communities.documents.selectors import SORTS, AgencyAccess
from communities.models import Community, Tag
from workspace.models import Agency

SORT_LABELS = {"updated": "Recently updated", "title": "Title (A–Z)", "added": "Recently added"}
ACCEPT = ",".join(ext for ftype in uploads.FILE_TYPES for ext in ftype.extensions)


def _tags(value: str) -> list[str]:
    labels = [label.strip() for label in value.split(",")]
    labels = [label for label in labels if label]
    too_long = [label for label in labels if len(label) > 40]
    if too_long:
        raise ValidationError(f"Keep each tag under 40 characters: “{too_long[0][:40]}…”.")
    return labels


class DocumentFilterForm(forms.Form):
    tag = forms.ChoiceField(required=False, label="Tag")
    agency = forms.ChoiceField(required=False, label="Owning agency")
    type = forms.ChoiceField(required=False, label="Type", choices=[("", "Any type"), *uploads.FAMILIES.items()])
    sort = forms.ChoiceField(required=False, label="Sort by", choices=[(key, SORT_LABELS[key]) for key in SORTS])

    def __init__(self, *args: Any, tags: QuerySet[Tag], agencies: QuerySet[Agency], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = [("", "Any tag"), *((tag.slug, tag.name) for tag in tags)]
        self.fields["agency"].choices = [("", "Any agency"), *((a.slug, a.name) for a in agencies)]


class FileInput(forms.ClearableFileInput):
    """A plain file input: the allowed extensions offered, nothing to clear."""

    template_name = "django/forms/widgets/file.html"


def _file_field() -> forms.FileField:
    return forms.FileField(
        label="File",
        allow_empty_file=True,  # the action refuses empty files with its own message
        widget=FileInput(attrs={"accept": ACCEPT}),
        help_text=f"{uploads.ALLOWED_NAMES}. Your file's name is kept; it is stored under a generated one.",
    )


class UploadForm(forms.Form):
    file = _file_field()
    title = forms.CharField(required=False, max_length=200, help_text="Leave empty to use the file's name.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    tags = forms.CharField(required=False, max_length=300, help_text="Separated by commas: schedule, measles.")
    retention = forms.ChoiceField(choices=Retention.choices, initial=Retention.WORKING, label="Retention label")
    audience = forms.ChoiceField(
        label="Who may see it",
        choices=[("community", "Every agency in the community"), ("named", "Only the agencies I choose")],
        initial="community",
        widget=forms.RadioSelect,
    )
    restrict_to = forms.ModelMultipleChoiceField(
        queryset=Agency.objects.none(),
        required=False,
        label="Agencies that may see it",
        widget=forms.CheckboxSelectMultiple,
        help_text="Used only with “Only the agencies I choose”. Your agency is always included.",
    )

    def __init__(self, *args: Any, members: QuerySet[Agency], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["restrict_to"].queryset = members
        self.fields["file"].help_text += f" Up to {settings.DOCUMENT_MAX_UPLOAD_MB:g} MB."

    def clean_tags(self) -> list[str]:
        return _tags(self.cleaned_data["tags"])

    def action_arguments(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        named = data.pop("audience") == "named"
        agencies = data.pop("restrict_to")
        data["upload"] = data.pop("file")
        data["restrict_to"] = list(agencies) if named else None
        return data


class ReviseForm(forms.Form):
    file = _file_field()
    based_on = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    change_note = forms.CharField(
        max_length=500, label="What changed", help_text="For example: added the Saturday clinic in Easton."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text += f" Up to {settings.DOCUMENT_MAX_UPLOAD_MB:g} MB."


class EditForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    tags = forms.CharField(required=False, max_length=300, help_text="Separated by commas.")
    retention = forms.ChoiceField(choices=Retention.choices, label="Retention label")

    def clean_tags(self) -> list[str]:
        return _tags(self.cleaned_data["tags"])


class AccessForm(forms.Form):
    """Whether every reader sees the document, and each member agency's level on it."""

    audience = forms.ChoiceField(
        label="Who may see it",
        choices=[
            ("community", "Every agency in the community"),
            ("named", "Only the agencies given a level below"),
        ],
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, rows: list[AgencyAccess], owner_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = [row for row in rows if row.agency.pk != owner_id]
        for row in self.rows:
            self.fields[f"level_{row.agency.pk}"] = forms.ChoiceField(
                label=row.agency.name,
                required=False,
                choices=[("", "Community default"), *AccessLevel.choices],
                initial=row.level or "",
            )

    def level_fields(self) -> list[tuple[AgencyAccess, forms.BoundField]]:
        return [(row, self[f"level_{row.agency.pk}"]) for row in self.rows]

    def levels(self) -> dict[Agency, str | None]:
        return {row.agency: self.cleaned_data.get(f"level_{row.agency.pk}") or None for row in self.rows}


class ShareForm(forms.Form):
    """Offer the document to one community or one agency outside its community."""

    target = forms.ChoiceField(label="Share with")
    level = forms.ChoiceField(
        label="They may",
        choices=[(AccessLevel.VIEW, AccessLevel.VIEW.label), (AccessLevel.REVISE, AccessLevel.REVISE.label)],
        initial=AccessLevel.VIEW,
        help_text="A community can be given view only.",
    )
    message = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Message")

    def __init__(self, *args: Any, communities: QuerySet[Community], agencies: QuerySet[Agency], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.communities = {str(c.pk): c for c in communities}
        self.agencies = {str(a.pk): a for a in agencies}
        self.fields["target"].choices = [
            ("", "Choose a community or an agency"),
            ("Communities", [(f"c{pk}", c.name) for pk, c in self.communities.items()]),
            ("Agencies", [(f"a{pk}", a.name) for pk, a in self.agencies.items()]),
        ]

    def action_arguments(self) -> dict[str, Any]:
        target = self.cleaned_data["target"]
        kind, pk = target[0], target[1:]
        found = {"community": self.communities.get(pk)} if kind == "c" else {"agency": self.agencies.get(pk)}
        return {**found, "level": self.cleaned_data["level"], "message": self.cleaned_data["message"]}


class RequestShareForm(forms.Form):
    community = forms.ModelChoiceField(queryset=Community.objects.none(), label="Your community")
    message = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Why")

    def __init__(self, *args: Any, communities: QuerySet[Community], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities
