"""Forms parse and validate input shape; actions decide whether the change may happen."""

from __future__ import annotations

from django import forms

from workspace.models import AgencyRole


class InviteStaffForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)
    role = forms.ChoiceField(choices=AgencyRole.choices, initial=AgencyRole.STAFF)


class ChangeRoleForm(forms.Form):
    role = forms.ChoiceField(choices=AgencyRole.choices)


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(label="Full name", max_length=150)
    title = forms.CharField(label="Job title", max_length=150, required=False)
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(
        label="Password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


class AuditFilterForm(forms.Form):
    verb = forms.ChoiceField(required=False, label="Action")
    actor = forms.CharField(required=False, max_length=100, label="Person")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, verbs: list[str], **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["verb"].choices = [("", "Any action"), *[(v, v) for v in verbs]]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date is before the start date.")
        return data
