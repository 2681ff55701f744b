"""The search page: parse the query string, call ``search.api.query``, render."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET

from search import api, selectors
from search.forms import SearchForm


def _page_number(request: HttpRequest) -> int:
    value = request.GET.get("page", "")
    return int(value) if value.isdigit() and 0 < int(value) <= api.MAX_PAGES else 1


def _link(params: QueryDict, **changes: Any) -> str:
    """The query string with ``changes`` applied (None removes), always back on page 1."""
    query = params.copy()
    query.pop("page", None)
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query.setlist(name, [str(value)])
    return "?" + query.urlencode()


def _facets(params: QueryDict, name: str, facets: list[api.Facet], selected: str) -> list[dict[str, Any]]:
    return [
        {
            "label": facet.label,
            "count": facet.count,
            "selected": str(facet.value) == selected,
            "href": _link(params, **{name: None if str(facet.value) == selected else facet.value}),
        }
        for facet in facets
    ]


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    communities, agencies = selectors.filter_choices(request.user)
    form = SearchForm(request.GET or None, communities=communities, agencies=agencies)
    results = None
    if form.is_bound and form.is_valid() and (form.cleaned_data["q"] or form.filters().active):
        results = api.query(
            request.user,
            form.cleaned_data["q"],
            filters=form.filters(),
            sort=form.cleaned_data["sort"] or "relevance",
            page=_page_number(request),
        )
    params = request.GET
    selected_types = params.getlist("type")
    context: dict[str, Any] = {
        "form": form,
        "results": results,
        "filtered": form.is_bound and form.is_valid() and form.filters().active,
        "query": _link(params)[1:],
        "person": selectors.person_name(form.cleaned_data.get("person")) if form.is_bound and form.is_valid() else "",
        "without_person": _link(params, person=None),
    }
    if results is not None and results.searched:
        context["first_number"] = (results.page - 1) * results.per_page + 1
        context["type_facets"] = _facets(
            params, "type", results.by_type, selected_types[0] if len(selected_types) == 1 else ""
        )
        context["community_facets"] = _facets(params, "community", results.by_community, params.get("community", ""))
        context["agency_facets"] = _facets(params, "agency", results.by_agency, params.get("agency", ""))
    status = 503 if results is not None and results.failed else 200
    return render(request, "search/results.html", context, status=status)
