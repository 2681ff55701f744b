"""Forms for the community pages: they check the shape of input; actions decide."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.text import slugify

from communities.models import CommunityRole, Tag, Visibility
from workspace.models import Agency, JurisdictionLevel, User

# Paths under /communities/ that are pages, not communities: a community with one of these
# slugs could never be reached.
RESERVED_SLUGS = frozenset({"new", "inbox"})


class DirectoryFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Name or purpose")
    level = forms.ChoiceField(
        required=False, label="Member jurisdiction", choices=[("", "Any level"), *JurisdictionLevel.choices]
    )
    state = forms.RegexField(
        required=False,
        regex=r"^[A-Za-z]{2}$",
        max_length=2,
        label="Member state",
        error_messages={"invalid": "Use the two-letter code, e.g. LK."},
        widget=forms.TextInput(attrs={"autocapitalize": "characters"}),
    )
    tag = forms.ChoiceField(required=False, label="Topic")

    def __init__(self, *args, tags: QuerySet[Tag], **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = [("", "Any topic"), *((tag.slug, tag.name) for tag in tags)]

    def clean_state(self) -> str:
        return self.cleaned_data["state"].upper()


class CommunityForm(forms.Form):
    name = forms.CharField(max_length=200)
    purpose = forms.CharField(max_length=300, help_text="One sentence: why this community exists.")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    visibility = forms.ChoiceField(
        choices=Visibility.choices,
        initial=Visibility.LISTED,
        help_text="Listed communities appear in the directory and take join requests. "
        "Unlisted ones are invisible to every agency that is not a member.",
    )
    entry_requirements = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Shown to agencies that may want to join: who may join and why.",
    )
    tags = forms.CharField(
        required=False, max_length=300, help_text="Topics, separated by commas: flood, broadband, public health."
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if slugify(name) in RESERVED_SLUGS:
            raise ValidationError("That name is reserved for a page of the workspace. Choose a longer name.")
        return name

    def clean_tags(self) -> list[str]:
        labels = [label.strip() for label in self.cleaned_data["tags"].split(",")]
        labels = [label for label in labels if label]
        too_long = [label for label in labels if len(label) > 40]
        if too_long:
            raise ValidationError(f"Keep each topic under 40 characters: “{too_long[0][:40]}…”.")
        return labels


class AgencyChoiceField(forms.ModelChoiceField):
    """An agency picked from ``queryset``; ``lookup`` finds any agency by id, so that an
    agency which cannot be picked gets a precise error instead of "not a valid choice"."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(Agency.objects.none(), *args, **kwargs)
        self.lookup: QuerySet[Agency] = Agency.objects.none()

    def to_python(self, value):  # type: ignore[no-untyped-def]
        if value in self.empty_values:
            return None
        try:
            return self.lookup.get(pk=int(value))
        except (ValueError, TypeError, Agency.DoesNotExist) as exc:
            raise ValidationError("Choose an agency from the list.", code="invalid_choice") from exc


class InviteAgencyForm(forms.Form):
    agency = AgencyChoiceField(empty_label="Choose an agency")
    role = forms.ChoiceField(choices=CommunityRole.choices, initial=CommunityRole.PARTICIPANT)
    message = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Sent to the agency's admins with the invitation.",
    )

    def __init__(self, *args, invitable: QuerySet[Agency], **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        field: AgencyChoiceField = self.fields["agency"]  # type: ignore[assignment]
        field.queryset = invitable
        field.lookup = Agency.objects.all()
        self.invitable = invitable

    def clean_agency(self) -> Agency:
        agency = self.cleaned_data["agency"]
        if not self.invitable.filter(pk=agency.pk).exists():
            raise ValidationError(
                f"{agency.name} cannot be invited: it is already a member, already invited, or not active."
            )
        return agency


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=CommunityRole.choices)


class JoinRequestForm(forms.Form):
    reason = forms.CharField(
        label="Why does your agency want to join?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The owners read this before deciding.",
        error_messages={"required": "Say why your agency wants to join."},
    )


class ParticipantsForm(forms.Form):
    """Who of an agency's staff takes part: everyone, or the people chosen."""

    mode = forms.ChoiceField(
        label="Who from your agency takes part?",
        choices=[("all", "All of our staff"), ("named", "Only the people chosen below (admins always take part)")],
        widget=forms.RadioSelect,
    )
    people = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple, label="People"
    )

    def __init__(self, *args, staff: QuerySet[User], **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["people"].queryset = staff
        self.fields["people"].label_from_instance = lambda user: (
            f"{user.full_name} — {user.title}" if user.title else user.full_name
        )


class PersonForm(forms.Form):
    person = forms.IntegerField(min_value=1)
