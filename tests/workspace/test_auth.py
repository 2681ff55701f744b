"""Sign-in, lockout, sign-out and the end of a deactivated person's sessions."""

from __future__ import annotations

from django.core import mail
from django.urls import reverse

from tests.factories import TEST_PASSWORD
from workspace import actions


def sign_in(client, email: str, password: str):  # type: ignore[no-untyped-def]
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR="203.0.113.9")


def test_sign_in_lands_on_dashboard_showing_the_agency(world, client) -> None:  # type: ignore[no-untyped-def]
    response = sign_in(client, world.own_staff.email, TEST_PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    page = client.get(reverse("dashboard"))
    assert "Harbor County Emergency Management" in page.content.decode()
    assert "not in any community yet" in page.content.decode()


def test_wrong_password_gets_a_clear_error(world, client) -> None:  # type: ignore[no-untyped-def]
    response = sign_in(client, world.own_staff.email, "wrong-password")
    assert response.status_code == 200
    assert "do not match an active account" in response.content.decode()


def test_repeated_failures_lock_out_even_the_right_password(world, client, settings) -> None:  # type: ignore[no-untyped-def]
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, world.own_staff.email, "wrong-password")
    response = sign_in(client, world.own_staff.email, TEST_PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_account_and_address(world, client, settings) -> None:  # type: ignore[no-untyped-def]
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, world.own_staff.email, "wrong-password")
    other = client.post(
        reverse("login"), {"username": world.own_staff.email, "password": TEST_PASSWORD}, REMOTE_ADDR="198.51.100.7"
    )
    assert other.status_code == 302


def test_deactivated_person_is_signed_out_on_next_request(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_staff)
    assert client.get(reverse("dashboard")).status_code == 200
    actions.deactivate_staff(actor=world.own_admin, member=world.own_staff)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_reactivated_person_must_sign_in_again(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_staff)
    actions.deactivate_staff(actor=world.own_admin, member=world.own_staff)
    actions.reactivate_staff(actor=world.own_admin, member=world.own_staff)
    assert client.get(reverse("dashboard")).status_code == 302
    assert sign_in(client, world.own_staff.email, TEST_PASSWORD).status_code == 302


def test_deactivated_person_cannot_sign_in(world, client) -> None:  # type: ignore[no-untyped-def]
    response = sign_in(client, world.deactivated.email, TEST_PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_sign_out_is_post_only_and_ends_the_session(world, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(world.own_staff)
    assert client.get(reverse("logout")).status_code == 405
    client.post(reverse("logout"))
    assert client.get(reverse("dashboard")).status_code == 302


def test_password_reset_sends_a_link_that_works(world, client) -> None:  # type: ignore[no-untyped-def]
    client.post(reverse("password_reset"), {"email": world.own_staff.email})
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]
    form_page = client.get("/" + path, follow=True)
    assert form_page.status_code == 200 and "Choose a new password" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "flood-crest-river-9", "new_password2": "flood-crest-river-9"},
    )
    assert response.status_code == 302
    world.own_staff.refresh_from_db()
    assert world.own_staff.check_password("flood-crest-river-9")


def test_password_reset_reveals_nothing_about_unknown_addresses(db, client) -> None:  # type: ignore[no-untyped-def]
    response = client.post(reverse("password_reset"), {"email": "nobody@nowhere.example"})
    assert response.status_code == 302
    assert len(mail.outbox) == 0
