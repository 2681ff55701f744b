"""The permission policy answers, explains, and gives operators no tenant powers."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from guardian.shortcuts import assign_perm

from workspace import policy
from workspace.models import User


def test_admin_may_manage_own_agency_only(world) -> None:  # type: ignore[no-untyped-def]
    assert policy.can(world.own_admin, "manage_staff", world.own)
    assert not policy.can(world.own_admin, "manage_staff", world.other)
    assert not policy.can(world.own_staff, "manage_staff", world.own)


@pytest.mark.parametrize("person", ["anonymous", "deactivated"])
def test_signed_out_people_may_do_nothing(world, person: str) -> None:  # type: ignore[no-untyped-def]
    user = AnonymousUser() if person == "anonymous" else world.deactivated
    assert not policy.can(user, "view", world.own)
    assert policy.explain(user, "view", world.own) == []


def test_superuser_gets_no_tenant_powers(world) -> None:  # type: ignore[no-untyped-def]
    operator = User.objects.create_superuser("op@workspace.example", "op-password-123", full_name="Operator")
    assert not policy.can(operator, "manage_staff", world.own)
    assert not policy.can(operator, "view_audit", world.own)


def test_explain_names_the_agency_role_behind_a_yes(world) -> None:  # type: ignore[no-untyped-def]
    grants = policy.explain(world.own_admin, "manage_staff", world.own)
    assert [g.kind for g in grants] == ["group"]
    assert "Admin of Harbor County Emergency Management" in grants[0].description
    assert policy.explain(world.own_staff, "manage_staff", world.own) == []


def test_explain_lists_an_individual_grant(world) -> None:  # type: ignore[no-untyped-def]
    assign_perm("workspace.view_audit", world.other_staff, world.own)
    policy.forget(world.other_staff)
    assert policy.can(world.other_staff, "view_audit", world.own)
    grants = policy.explain(world.other_staff, "view_audit", world.own)
    assert [g.kind for g in grants] == ["user"]
    assert "individually" in grants[0].description


def test_explain_gives_the_rule_for_rule_based_answers(world) -> None:  # type: ignore[no-untyped-def]
    grants = policy.explain(world.other_staff, "view", world.own)
    assert grants[0].kind == "rule"


def test_unknown_action_is_a_programming_error(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LookupError):
        policy.can(world.own_admin, "launch_rockets", world.own)


def test_repeated_checks_hit_the_database_once(world, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    user = User.objects.get(pk=world.own_admin.pk)
    with django_assert_num_queries(2):  # user perms + group perms, once
        for _ in range(10):
            policy.can(user, "manage_staff", world.own)
            policy.can(user, "view_audit", world.own)
