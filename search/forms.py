"""The search page's form: the words, the filters and the order, all from the query string."""

from __future__ import annotations

from typing import Any

from django import forms

from search import registry
from search.backends import Filters

MAX_INPUT_CHARS = 2000


class SearchForm(forms.Form):
    q = forms.CharField(
        label="Search for",
        required=False,
        max_length=MAX_INPUT_CHARS,
        strip=True,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "aria-describedby": "search-help"}),
        error_messages={"max_length": f"Keep your search under {MAX_INPUT_CHARS:,} characters."},
    )
    type = forms.MultipleChoiceField(label="Type", required=False, widget=forms.CheckboxSelectMultiple)
    community = forms.TypedChoiceField(label="In community", required=False, coerce=int, empty_value=None)
    agency = forms.TypedChoiceField(label="From agency", required=False, coerce=int, empty_value=None)
    person = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(
        label="Order",
        required=False,
        choices=[("relevance", "Best match first"), ("date", "Newest first")],
    )

    def __init__(self, *args: Any, communities: list[tuple[int, str]], agencies: list[tuple[int, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [(entry.name, entry.label) for entry in registry.types()]
        self.fields["community"].choices = [("", "Any community"), *communities]
        self.fields["agency"].choices = [("", "Any agency"), *agencies]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date comes before the start date.")
        return data

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            types=tuple(data.get("type") or ()),
            community=data.get("community"),
            agency=data.get("agency"),
            person=data.get("person"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
