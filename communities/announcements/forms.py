"""Forms for the announcement pages: they check the shape of input; actions decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from communities.announcements.models import Audience, Frequency
from communities.models import Community
from workspace.models import Agency

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class _DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format=DATETIME_FORMAT)


class AnnouncementForm(forms.Form):
    community = forms.ModelChoiceField(
        queryset=Community.objects.none(),
        label="Home community",
        help_text="Where it is published first. You can promote it into other communities afterwards.",
    )
    title = forms.CharField(max_length=200)
    summary = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One or two sentences, shown in lists, feeds and emails.",
    )
    body = forms.CharField(
        required=False,
        label="Text",
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="Markdown: **bold**, *italic*, lists with -, links as [text](https://…).",
    )
    program = forms.CharField(max_length=120, help_text="The program it belongs to, e.g. Digital Equity.")
    audience = forms.ChoiceField(
        choices=Audience.choices,
        initial=Audience.MEMBERS,
        widget=forms.RadioSelect,
        help_text="Public announcements appear on your agency's public page and in public feeds.",
    )
    tags = forms.CharField(
        required=False, max_length=300, label="Topics", help_text="Separated by commas: broadband, grants."
    )
    links = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, optionally with a label: Application portal | https://grants.example/apply",
    )
    publish_at = forms.DateTimeField(
        required=False,
        label="Publish at",
        widget=_DateTimeInput(),
        help_text="Leave empty to publish when you press Publish. A later time schedules it.",
    )
    expire_at = forms.DateTimeField(
        required=False,
        label="Expires at",
        widget=_DateTimeInput(),
        help_text="When it stops showing, e.g. when applications close.",
    )

    def __init__(self, *args: Any, communities: QuerySet[Community], fixed_community: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities
        if fixed_community:
            # The home of an existing announcement stays; promotions add places.
            del self.fields["community"]

    def clean_tags(self) -> list[str]:
        labels = [label.strip() for label in self.cleaned_data["tags"].split(",") if label.strip()]
        too_long = [label for label in labels if len(label) > 40]
        if too_long:
            raise ValidationError(f"Keep each topic under 40 characters: “{too_long[0][:40]}…”.")
        return labels

    def clean_links(self) -> list[dict[str, str]]:
        links = []
        for line in self.cleaned_data["links"].splitlines():
            if not line.strip():
                continue
            label, _, url = line.rpartition("|")
            links.append({"label": label.strip(), "url": url.strip()})
        return links

    def action_arguments(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("community", None)
        return data


def initial_for(announcement: Any) -> dict[str, Any]:
    """The form's initial values for an existing announcement."""
    return {
        "title": announcement.title,
        "summary": announcement.summary,
        "body": announcement.body,
        "program": announcement.program.name,
        "audience": announcement.audience,
        "tags": ", ".join(tag.name for tag in announcement.tags.all()),
        "links": "\n".join(
            f"{link['label']} | {link['url']}" if link["label"] != link["url"] else link["url"]
            for link in announcement.links
        ),
        "publish_at": announcement.publish_at,
        "expire_at": announcement.expire_at,
    }


class PromoteForm(forms.Form):
    community = forms.ModelChoiceField(queryset=Community.objects.none(), label="Community")
    message = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Note to its owners",
        help_text="Why their members would want this.",
    )

    def __init__(self, *args: Any, communities: QuerySet[Community], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities


class RetractForm(forms.Form):
    note = forms.CharField(
        required=False,
        max_length=300,
        label="Reason (kept in the audit log)",
        widget=forms.TextInput(),
    )


class TrustForm(forms.Form):
    agency = forms.ModelChoiceField(queryset=Agency.objects.none(), label="Agency")

    def __init__(self, *args: Any, agencies: QuerySet[Agency], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agency"].queryset = agencies


class SubscribeForm(forms.Form):
    target = forms.ChoiceField(label="Follow")
    frequency = forms.ChoiceField(choices=Frequency.choices, initial=Frequency.DAILY, label="Email")

    def __init__(self, *args: Any, choices: dict[str, list[tuple[str, str]]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [("", "Choose…"), *((group, options) for group, options in choices.items())]

    def clean_target(self) -> tuple[str, int]:
        kind, _, pk = self.cleaned_data["target"].partition(":")
        if kind not in ("community", "program", "tag") or not pk.isdigit():
            raise ValidationError("Choose a community, program or topic.")
        return kind, int(pk)
