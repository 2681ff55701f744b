"""Input of the incident pages. Forms check the shape of input; the actions decide the rest
(who may act, closed incidents, lengths). No form has a time field: the board's times,
alerts' and acknowledgements' are the server's, so extra fields a client posts are ignored."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError

from communities.models import Community
from messaging.incidents.models import EntryKind, IncidentStatus, RequestState, Severity
from workspace.models import Agency


class OpenIncidentForm(forms.Form):
    """A new incident: where, what, and which member agencies take part (the opener's own
    agency always does)."""

    community = forms.ModelChoiceField(queryset=Community.objects.none(), empty_label=None)
    name = forms.CharField(max_length=200, help_text="For example: Easton River Flood.")
    kind = forms.CharField(max_length=40, label="Type", help_text="Flood, wildfire, water main break…")
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MODERATE)
    location = forms.CharField(max_length=300, required=False, help_text="Where, in words people in the field use.")
    agencies = forms.ModelMultipleChoiceField(
        queryset=Agency.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Participating agencies",
        help_text="Only their people see the incident, its alerts and its board.",
    )

    def __init__(  # type: ignore[no-untyped-def]
        self, *args, communities: list[Community], members: dict[int, list[Agency]], own: Agency | None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.members = {community_id: {a.pk for a in agencies} for community_id, agencies in members.items()}
        choices = sorted(
            {a.pk: a for agencies in members.values() for a in agencies if own is None or a.pk != own.pk}.values(),
            key=lambda a: a.name,
        )
        self.fields["community"].queryset = Community.objects.filter(pk__in=[c.pk for c in communities]).order_by(
            "name"
        )
        self.fields["agencies"].queryset = Agency.objects.filter(pk__in=[a.pk for a in choices]).order_by("name")
        if own is not None:
            self.fields["agencies"].help_text += f" {own.short_name}, your agency, always takes part."

    def clean(self) -> dict:  # type: ignore[type-arg]
        data = super().clean()
        community, agencies = data.get("community"), data.get("agencies")
        if community is not None and agencies:
            outside = [a.short_name for a in agencies if a.pk not in self.members.get(community.pk, set())]
            if outside:
                self.add_error("agencies", f"Not a member of {community.name}: {', '.join(outside)}.")
        return data


class AlertForm(forms.Form):
    body = forms.CharField(
        label="Alert",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Every person of the participating agencies gets it on whatever page they have open, "
        "and must acknowledge it.",
    )
    agency_threshold = forms.IntegerField(
        label="Acknowledgements each agency needs", min_value=1, max_value=50, initial=1
    )
    escalate_minutes = forms.IntegerField(
        label="Escalate an agency with no acknowledgement after (minutes)",
        min_value=1,
        max_value=24 * 60,
        required=False,
        help_text="Its admins are told, in the app and by email. Empty: the default.",
    )

    @property
    def escalate_after(self) -> timedelta | None:
        minutes = self.cleaned_data.get("escalate_minutes")
        return timedelta(minutes=minutes) if minutes else None


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=IncidentStatus.choices)


class BoardEntryForm(forms.Form):
    kind = forms.ChoiceField(label="Type", choices=EntryKind.choices)
    text = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class BoardUpdateForm(forms.Form):
    """New text for an entry, and for a resource request its state; what is left out stays."""

    text = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    state = forms.ChoiceField(choices=[("", "—"), *RequestState.choices], required=False)

    def clean(self) -> dict:  # type: ignore[type-arg]
        data = super().clean()
        if not data.get("text", "").strip() and not data.get("state"):
            raise ValidationError("Change the text or the state.")
        return data


class AcknowledgeForm(forms.Form):
    next = forms.CharField(required=False, max_length=500)
