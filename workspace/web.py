"""Small helpers every app's views share: pagination, showing an action's error on a
form, and redirecting back with a message."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from workspace.exceptions import ActionError


def paginate(request: HttpRequest, queryset: Any, size: int, param: str = "page") -> Page:
    """The requested page of ``queryset``; a bad or out-of-range number gives the nearest page."""
    return Paginator(queryset, size).get_page(request.GET.get(param))


def form_error(form: Form, exc: ActionError) -> None:
    """Show an action's error next to its field, or above the form if it names none."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def back(request: HttpRequest, to: str, *args: Any, exc: ActionError | None = None, ok: str = "") -> HttpResponse:
    """Redirect to the named page, with the action's error or a success message."""
    if exc is not None:
        messages.error(request, exc.message)
    elif ok:
        messages.success(request, ok)
    return redirect(to, *args)
