"""Input of the thread pages. Forms check the shape of input; the actions decide the rest
(empty or too long bodies, replies to another thread, who may post)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from messaging.actions import REACTIONS
from workspace.models import Agency

WRITE_SOMETHING = {"required": "Write something first."}
CHOOSE_AUDIENCE = "Choose who can see the thread."


class NewThreadForm(forms.Form):
    """A new thread and its first message. ``client_id`` (of the first message) is
    generated when the form is rendered, so submitting it twice opens one thread."""

    client_id = forms.UUIDField(widget=forms.HiddenInput)
    title = forms.CharField(max_length=200, label="Title", error_messages={"required": "Give the thread a title."})
    body = forms.CharField(
        label="First message",
        error_messages=WRITE_SOMETHING,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Markdown: **bold**, _italic_, lists and links.",
    )
    restrict_to = forms.ModelMultipleChoiceField(
        queryset=Agency.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Only these agencies may see it",
    )

    def __init__(self, *args, members: QuerySet[Agency], **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["restrict_to"].queryset = members


class PostForm(forms.Form):
    """A message posted without JavaScript. ``client_id`` is generated when the page is
    rendered, so submitting the same form twice stores one message."""

    body = forms.CharField(
        strip=False, label="Message", widget=forms.Textarea(attrs={"rows": 4}), error_messages=WRITE_SOMETHING
    )
    client_id = forms.UUIDField(widget=forms.HiddenInput)
    reply_to = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class EditForm(forms.Form):
    body = forms.CharField(
        strip=False, label="Message", widget=forms.Textarea(attrs={"rows": 6}), error_messages=WRITE_SOMETHING
    )


class ReactForm(forms.Form):
    """One reaction to add or to take back (the two buttons of a reaction send one each)."""

    add = forms.ChoiceField(required=False, choices=[(emoji, emoji) for emoji in REACTIONS])
    remove = forms.ChoiceField(required=False, choices=[(emoji, emoji) for emoji in REACTIONS])

    def clean(self) -> dict:  # type: ignore[type-arg]
        data = super().clean()
        if bool(data.get("add")) == bool(data.get("remove")):
            raise ValidationError("Choose one reaction.")
        return data

    @property
    def emoji(self) -> str:
        return self.cleaned_data["add"] or self.cleaned_data["remove"]

    @property
    def on(self) -> bool:
        return bool(self.cleaned_data["add"])


class ThreadSettingsForm(forms.Form):
    """A moderator's changes to a thread: its title, and whether it is pinned, locked or archived."""

    title = forms.CharField(max_length=200, label="Title", error_messages={"required": "Give the thread a title."})
    pinned = forms.BooleanField(required=False, label="Pinned to the top of the community's threads")
    locked = forms.BooleanField(required=False, label="Locked: nobody can post in it")
    archived = forms.BooleanField(required=False, label="Archived: kept for reading, not answered")


class AudienceForm(forms.Form):
    """Who may see a thread: every member agency, or only some (the moderator's own is
    always among them). ``confirm`` is set by the confirmation page of a narrowing."""

    EVERYONE, SOME = "everyone", "some"
    audience = forms.ChoiceField(
        choices=[(EVERYONE, "Every member agency"), (SOME, "Only the agencies chosen below")],
        widget=forms.RadioSelect,
        label="Who can see this thread",
        error_messages={"required": CHOOSE_AUDIENCE, "invalid_choice": CHOOSE_AUDIENCE},
    )
    restrict_to = forms.ModelMultipleChoiceField(
        queryset=Agency.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Agencies",
        error_messages={"invalid_choice": "Choose among the community's member agencies."},
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, members: QuerySet[Agency], **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["restrict_to"].queryset = members

    @property
    def restriction(self) -> list[Agency] | None:
        """None for every member agency, else the chosen ones."""
        if self.cleaned_data["audience"] == self.EVERYONE:
            return None
        return list(self.cleaned_data["restrict_to"])
