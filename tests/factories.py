"""Factories that build through actions, so test data has real groups, grants and audit."""

from __future__ import annotations

import factory

from workspace import actions
from workspace.models import Agency, AgencyRole, JurisdictionLevel, User

TEST_PASSWORD = "a-long-test-password-17"


class AgencyFactory(factory.Factory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"Test County Office {n}")
    short_name = factory.Sequence(lambda n: f"TCO{n}")
    slug = factory.Sequence(lambda n: f"test-office-{n}")
    level = JurisdictionLevel.COUNTY
    state = "LK"

    @classmethod
    def _create(cls, model_class: type[Agency], **kwargs: object) -> Agency:
        return actions.create_agency(actor=None, **kwargs)  # type: ignore[arg-type]


class PersonFactory(factory.Factory):
    class Meta:
        model = User

    agency = factory.SubFactory(AgencyFactory)
    email = factory.Sequence(lambda n: f"person{n}@agency.example")
    full_name = factory.Sequence(lambda n: f"Test Person {n}")
    role = AgencyRole.STAFF
    password = TEST_PASSWORD

    @classmethod
    def _create(cls, model_class: type[User], **kwargs: object) -> User:
        return actions.add_staff_member(actor=None, **kwargs)  # type: ignore[arg-type]
