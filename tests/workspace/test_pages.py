"""Pages: forms with bad input answer with a clear error and change nothing."""

from __future__ import annotations

from django.urls import reverse

from workspace import actions
from workspace.models import AgencyRole, AuditEvent, StaffInvitation, User


def test_invite_form_refuses_existing_account(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_admin)
    before = AuditEvent.objects.count()
    response = client.post(
        reverse("staff_manage", args=[world.own.slug]), {"email": world.other_admin.email, "role": "staff"}
    )
    assert response.status_code == 400
    assert "already has an account" in response.content.decode()
    assert not StaffInvitation.objects.exists()
    assert AuditEvent.objects.count() == before


def test_invite_form_refuses_malformed_input(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_admin)
    response = client.post(reverse("staff_manage", args=[world.own.slug]), {"email": "nope", "role": "king"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Enter a valid email address." in body and "Select a valid choice." in body
    assert not StaffInvitation.objects.exists()


def test_demoting_the_last_admin_shows_why_and_changes_nothing(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_admin)
    response = client.post(
        reverse("staff_change_role", args=[world.own.slug, world.own_admin.pk]), {"role": "staff"}, follow=True
    )
    assert "last admin" in response.content.decode()
    world.own_admin.membership.refresh_from_db()
    assert world.own_admin.membership.role == AgencyRole.ADMIN


def test_deactivating_the_last_admin_shows_why_and_changes_nothing(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_admin)
    response = client.post(reverse("staff_deactivate", args=[world.own.slug, world.own_admin.pk]), follow=True)
    assert "last admin" in response.content.decode()
    world.own_admin.refresh_from_db()
    assert world.own_admin.is_active


def test_bad_role_value_changes_nothing(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_admin)
    response = client.post(
        reverse("staff_change_role", args=[world.own.slug, world.own_staff.pk]), {"role": "owner"}, follow=True
    )
    assert "Choose admin or staff." in response.content.decode()
    world.own_staff.membership.refresh_from_db()
    assert world.own_staff.membership.role == AgencyRole.STAFF


def test_deactivation_asks_for_confirmation_first(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_admin)
    page = client.get(reverse("staff_deactivate", args=[world.own.slug, world.own_staff.pk]))
    assert "signed out of every browser" in page.content.decode()
    world.own_staff.refresh_from_db()
    assert world.own_staff.is_active


def test_invitation_signup_page_creates_account_and_signs_in(world, client) -> None:  # type: ignore[no-untyped-def]
    sent = actions.invite_staff(actor=world.own_admin, agency=world.own, email="deputy@harbor.example")
    path = sent.url.split("127.0.0.1:8000", 1)[1]
    mismatch = client.post(path, {"full_name": "D", "password1": "river-crest-2026", "password2": "other-2026-x"})
    assert mismatch.status_code == 400 and "The two passwords differ." in mismatch.content.decode()
    assert not User.objects.filter(email="deputy@harbor.example").exists()
    response = client.post(
        path, {"full_name": "Dee Puty", "password1": "river-crest-2026", "password2": "river-crest-2026"}
    )
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).context["agency"] == world.own
    assert client.get(path).status_code == 404  # used links stop working


def test_unknown_invitation_token_is_a_clear_404(db, client) -> None:  # type: ignore[no-untyped-def]
    response = client.get(reverse("invitation_accept", args=["made-up-token"]))
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_pages_carry_security_headers(world, client) -> None:  # type: ignore[no-untyped-def]
    response = client.get(reverse("login"))
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_agency_directory_paginates(world, client) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import AgencyFactory

    for _ in range(55):
        AgencyFactory()
    client.force_login(world.own_staff)
    first = client.get(reverse("agency_list")).content.decode()
    assert "Page 1 of 2" in first
    assert "Page 2 of 2" in client.get(reverse("agency_list"), {"page": 2}).content.decode()
