"""Input of the notification pages."""

from __future__ import annotations

from django import forms


class MarkReadForm(forms.Form):
    """Which notification to mark read (none given: all of them), and where to go after."""

    id = forms.IntegerField(required=False, min_value=1)
    next = forms.CharField(required=False, max_length=500)
