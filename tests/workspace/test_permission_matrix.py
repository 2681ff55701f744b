"""Every workspace route against anonymous, own-agency staff and admin, other-agency staff
and admin, and a person deactivated mid-session."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import PersonFactory
from tests.matrix import LOGIN, ROLES, Route, check_route
from workspace import actions

SIGNED_IN = dict.fromkeys(ROLES, 200) | {"anonymous": LOGIN, "deactivated": LOGIN}


def admins_only(ok: int) -> dict[str, int]:
    return {
        "anonymous": LOGIN,
        "own_staff": 403,
        "own_admin": ok,
        "other_staff": 403,
        "other_admin": 403,
        "deactivated": LOGIN,
    }


def _deactivated_colleague_url(world) -> str:  # type: ignore[no-untyped-def]
    person = PersonFactory(agency=world.own)
    actions.deactivate_staff(actor=world.own_admin, member=person)
    return reverse("staff_reactivate", args=[world.own.slug, person.pk])


def _invitation_revoke_url(world) -> str:  # type: ignore[no-untyped-def]
    sent = actions.invite_staff(actor=world.own_admin, agency=world.own, email="invitee@harbor.example")
    return reverse("invitation_revoke", args=[world.own.slug, sent.invitation.pk])


def _invitation_accept_url(world) -> str:  # type: ignore[no-untyped-def]
    sent = actions.invite_staff(actor=world.own_admin, agency=world.own, email="invitee@harbor.example")
    return sent.url.split("127.0.0.1:8000", 1)[-1]


ROUTES = [
    Route("dashboard", lambda w: reverse("dashboard"), SIGNED_IN),
    Route("agency list", lambda w: reverse("agency_list"), SIGNED_IN),
    Route("agency page", lambda w: reverse("agency_detail", args=[w.own.slug]), SIGNED_IN),
    Route("staff page", lambda w: reverse("staff_manage", args=[w.own.slug]), admins_only(200)),
    Route(
        "invite staff",
        lambda w: reverse("staff_manage", args=[w.own.slug]),
        admins_only(302),
        method="post",
        data=lambda w: {"email": "new.person@harbor.example", "role": "staff"},
    ),
    Route(
        "change role",
        lambda w: reverse("staff_change_role", args=[w.own.slug, w.own_staff.pk]),
        admins_only(302),
        method="post",
        data=lambda w: {"role": "admin"},
    ),
    Route(
        "deactivate confirmation",
        lambda w: reverse("staff_deactivate", args=[w.own.slug, w.own_staff.pk]),
        admins_only(200),
    ),
    Route(
        "deactivate",
        lambda w: reverse("staff_deactivate", args=[w.own.slug, w.own_staff.pk]),
        admins_only(302),
        method="post",
    ),
    Route("reactivate", _deactivated_colleague_url, admins_only(302), method="post"),
    Route("revoke invitation", _invitation_revoke_url, admins_only(302), method="post"),
    Route("audit log", lambda w: reverse("audit_log", args=[w.own.slug]), admins_only(200)),
    Route("audit export", lambda w: reverse("audit_export", args=[w.own.slug]), admins_only(200)),
    Route("accept invitation page", _invitation_accept_url, dict.fromkeys(ROLES, 200)),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_route_permissions(route: Route, role: str, world) -> None:  # type: ignore[no-untyped-def]
    check_route(route, role, world)


@pytest.mark.parametrize(
    "name", ["staff_change_role", "staff_deactivate", "staff_reactivate"], ids=lambda n: n.replace("staff_", "")
)
def test_admin_cannot_reach_another_agencys_people_through_own_agency(world, client, name: str) -> None:  # type: ignore[no-untyped-def]
    """The person is looked up inside the agency in the URL: someone else's staff is a 404."""
    client.force_login(world.own_admin)
    response = client.post(reverse(name, args=[world.own.slug, world.other_staff.pk]), {"role": "admin"})
    assert response.status_code == 404
    world.other_staff.refresh_from_db()
    assert world.other_staff.is_active
    assert world.other_staff.membership.role == "staff"


def test_unknown_agency_is_404(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_admin)
    assert client.get(reverse("staff_manage", args=["no-such-agency"])).status_code == 404
    assert client.post(reverse("staff_manage", args=["no-such-agency"]), {"email": "x@y.example"}).status_code == 404
