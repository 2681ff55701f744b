"""The permission matrix: every route against every kind of person.

Each route lists the status every role should get. ``deactivated`` signs in while active
and is deactivated before the request, so it covers "removed mid-session".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.test import Client

from workspace import actions

ROLES = ("anonymous", "own_staff", "own_admin", "other_staff", "other_admin", "deactivated")
LOGIN = 302  # anonymous and signed-out people are sent to sign in


@dataclass(frozen=True)
class Route:
    name: str
    url: Callable[[Any], str]
    expect: dict[str, int]
    method: str = "get"
    data: Callable[[Any], dict[str, Any]] = field(default=lambda world: {})

    def __post_init__(self) -> None:
        missing = set(ROLES) - set(self.expect)
        assert not missing, f"{self.name}: no expectation for {sorted(missing)}"

    def __str__(self) -> str:
        return self.name


def client_as(role: str, world: Any) -> Client:
    client = Client()
    if role == "anonymous":
        return client
    if role == "deactivated":
        person = world.deactivated
        actions.reactivate_staff(actor=world.own_admin, member=person)
        client.force_login(person)
        actions.deactivate_staff(actor=world.own_admin, member=person)
        return client
    client.force_login(world.person(role))
    return client


def check_route(route: Route, role: str, world: Any) -> None:
    client = client_as(role, world)
    response = getattr(client, route.method)(route.url(world), route.data(world))
    expected = route.expect[role]
    assert response.status_code == expected, (
        f"{route.method.upper()} {route.name} as {role}: got {response.status_code}, expected {expected}"
    )
    if expected == LOGIN and role in ("anonymous", "deactivated"):
        assert "/accounts/login/" in response["Location"]
