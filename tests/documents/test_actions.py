"""Document actions: defaults that follow the community role, narrowing to named agencies,
sharing beyond the community with the receiving side's consent, revocation on the next
request, deletion, audit and live events."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from communities import actions as community_actions
from communities.documents import actions, selectors, uploads
from communities.documents.models import AccessLevel, Document, DocumentShare, ShareStatus
from messaging import streams
from messaging.models import StreamEvent
from tests.documents.conftest import ROLES, DocumentWorld, client_as, pdf, upload
from tests.factories import PersonFactory
from workspace import policy
from workspace.exceptions import ActionError
from workspace.models import AuditEvent

PEOPLE = [role for role in ROLES if role not in ("anonymous", "deactivated")]


def fresh(world: DocumentWorld, role: str):  # type: ignore[no-untyped-def]
    """The person as a new request would see them: no cached permissions."""
    person = world.person(role)
    policy.forget(person)
    return person


def can(world: DocumentWorld, role: str, action: str, document: Document) -> bool:
    return policy.can(fresh(world, role), action, Document.objects.get(pk=document.pk))


def events(stream: str) -> list[tuple[str, dict]]:
    return list(StreamEvent.objects.filter(stream=stream).order_by("seq").values_list("kind", "data"))


def test_defaults_follow_the_community_role(dw) -> None:  # type: ignore[no-untyped-def]
    """Every reader views; the owning agency's staff revise and its admins manage."""
    expected = {
        "owner_staff": {"view", "revise"},
        "owner_admin": {"view", "revise", "manage"},
        "participant_staff": {"view"},
        "participant_admin": {"view"},
        "observer_staff": {"view"},
        "moderator": {"view"},
        "nonmember_staff": set(),
        "nonmember_admin": set(),
        "removed": {"view"},  # still a member here
    }
    for role, allowed in expected.items():
        got = {a for a in ("view", "revise", "manage") if can(dw, role, a, dw.open)}
        assert got == allowed, role


def test_the_selector_agrees_with_the_policy_for_everyone(dw) -> None:  # type: ignore[no-untyped-def]
    other = community_actions.create_community(
        actor=dw.nonmember_admin, name="Pine Basin Partners", purpose="Pine County's flood partners."
    )
    actions.offer_share(actor=dw.owner_admin, document=dw.restricted, community=other)
    shared = actions.offer_share(actor=dw.owner_admin, document=dw.open, agency=dw.applicant)
    actions.accept_share(actor=dw.applicant_admin, share=shared)
    into = DocumentShare.objects.get(community=other)
    actions.accept_share(actor=dw.nonmember_admin, share=into)
    community_actions.remove_agency(actor=dw.owner_admin, community=dw.community, agency=dw.removed_agency)
    for role in [*PEOPLE, "applicant_admin"]:
        person = fresh(dw, role)
        listed = set(selectors.documents_for_user(person).values_list("pk", flat=True))
        allowed = {d.pk for d in Document.objects.all() if policy.can(person, "view", d)}
        assert listed == allowed, role
    # Pine's people read the restricted document through their community only.
    assert can(dw, "nonmember_staff", "view", dw.restricted)
    assert not can(dw, "nonmember_staff", "revise", dw.restricted)


def test_narrowing_hides_the_document_from_agencies_not_named(dw) -> None:  # type: ignore[no-untyped-def]
    actions.set_document_access(
        actor=dw.owner_admin, document=dw.open, restricted=True, levels={dw.participant: AccessLevel.REVISE}
    )
    assert can(dw, "participant_staff", "revise", dw.open)
    assert not can(dw, "participant_staff", "manage", dw.open)
    assert not can(dw, "observer_staff", "view", dw.open)
    assert can(dw, "owner_admin", "manage", dw.open)
    community_stream = f"community:{dw.community.pk}"
    removed = {"document": {"id": dw.open.pk, "reason": "restricted"}}
    assert events(community_stream)[-1] == ("document.removed", removed)
    audit = AuditEvent.objects.filter(verb="document.access_changed").get()
    assert audit.details == {"restricted": True, "levels": {"harbor-em": "revise", "loem": "manage"}}


def test_an_agency_named_on_a_document_loses_it_when_removed_from_the_community(dw) -> None:  # type: ignore[no-untyped-def]
    actions.set_document_access(
        actor=dw.owner_admin, document=dw.restricted, restricted=True, levels={dw.removed_agency: AccessLevel.VIEW}
    )
    assert can(dw, "removed", "view", dw.restricted)
    community_actions.remove_agency(actor=dw.owner_admin, community=dw.community, agency=dw.removed_agency)
    assert not can(dw, "removed", "view", dw.restricted)
    assert not can(dw, "removed", "view", dw.open)


def test_only_member_agencies_can_be_named(dw) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ActionError):
        actions.set_document_access(
            actor=dw.owner_admin, document=dw.open, restricted=True, levels={dw.nonmember: AccessLevel.VIEW}
        )
    with pytest.raises(PermissionDenied):
        actions.set_document_access(actor=dw.owner_staff, document=dw.open, restricted=True, levels={})


def test_a_restricted_document_is_never_announced_on_the_community_stream(dw) -> None:  # type: ignore[no-untyped-def]
    stream = f"community:{dw.community.pk}"
    titles = [data["document"].get("title") for kind, data in events(stream)]
    assert "Clinic schedule" in titles
    assert "Levee inspection findings" not in titles


def titles_on(stream: str) -> list[str]:
    """Every event of the stream as sent on the wire."""
    return [json.dumps(data) for _, data in events(stream)]


def test_no_event_on_the_shared_stream_names_a_restricted_document(dw) -> None:  # type: ignore[no-untyped-def]
    """Narrowed to Lakeland OEM and Easton: Harbor EM reads the community's stream, so
    nothing on it may carry the document's title, whatever happens to the document."""
    stream = dw.community.stream
    actions.revise_document(
        actor=dw.owner_admin,
        document=dw.restricted,
        upload=SimpleUploadedFile("levee-inspection.pdf", pdf("Levee findings, second pass")),
        based_on=1,
        change_note="Second pass.",
    )
    renamed = actions.update_document(
        actor=dw.owner_admin, document=Document.objects.get(pk=dw.restricted.pk), title="Levee findings (final)"
    )
    share = actions.offer_share(actor=dw.owner_admin, document=renamed, agency=dw.nonmember)
    actions.accept_share(actor=dw.nonmember_admin, share=share)
    # The open document, narrowed now, then renamed: its new title stays off the stream too.
    actions.set_document_access(actor=dw.owner_admin, document=dw.open, restricted=True, levels={})
    actions.update_document(
        actor=dw.owner_admin, document=Document.objects.get(pk=dw.open.pk), title="Clinic schedule (internal)"
    )
    actions.delete_document(actor=dw.owner_admin, document=Document.objects.get(pk=renamed.pk))
    on_the_wire = " ".join(titles_on(stream))
    for title in ("Levee", "Clinic schedule (internal)"):
        assert title not in on_the_wire, title

    # What Harbor EM's socket would be sent, replayed from the start: the same.
    harbor = fresh(dw, "participant_staff")
    assert streams.may_subscribe(harbor.pk, stream)
    assert not can(dw, "participant_staff", "view", dw.open)
    sent = " ".join(streams.subscribe(harbor.pk, stream, since=0).frames)
    assert "Levee" not in sent and "Clinic schedule (internal)" not in sent
    assert '"reason":"restricted"' in sent  # it learns only that access was narrowed


def test_a_restricted_document_shared_into_a_community_is_announced_there(dw) -> None:  # type: ignore[no-untyped-def]
    """The receiving community's readers may see it, so its stream names it; the home's does not."""
    other = community_actions.create_community(
        actor=dw.nonmember_admin, name="Pine Basin Partners", purpose="Pine County's flood partners."
    )
    share = actions.offer_share(actor=dw.owner_admin, document=dw.restricted, community=other)
    actions.accept_share(actor=dw.nonmember_admin, share=share)
    kind, data = events(other.stream)[-1]
    assert kind == "document.shared" and data["document"]["title"] == "Levee inspection findings"
    assert can(dw, "nonmember_staff", "view", dw.restricted)
    assert "Levee" not in " ".join(titles_on(dw.community.stream))


def test_event_data_is_enough_for_a_list_row(dw) -> None:  # type: ignore[no-untyped-def]
    added = [data["document"] for kind, data in events(dw.community.stream) if kind == "document.added"][0]
    assert added["url"] == reverse("document_detail", args=[dw.open.pk])
    assert added["title"] == "Clinic schedule" and added["agency"] == dw.open.owning_agency.short_name
    assert added["version"] == 1 and added["type"] and added["uploaded_by"] == dw.owner_staff.full_name
    assert added["updated_at"] and added["restricted"] is False
    assert added["community"] == dw.community.pk and added["community_name"] == dw.community.name
    share = actions.offer_share(actor=dw.owner_admin, document=dw.open, agency=dw.nonmember)
    actions.accept_share(actor=dw.nonmember_admin, share=share)
    kind, data = events(dw.community.stream)[-1]
    assert kind == "document.shared"
    assert data["document"]["title"] == "Clinic schedule" and data["document"]["with"] == str(dw.nonmember)


def test_added_and_revised_documents_appear_on_the_community_stream(dw, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    stream = f"community:{dw.community.pk}"
    assert [kind for kind, _ in events(stream) if kind.startswith("document.")][:2] == [
        "document.added",
        "document.revised",
    ]
    revised = [data for kind, data in events(stream) if kind == "document.revised"]
    assert revised[-1]["document"]["title"] == "Clinic schedule" and revised[-1]["document"]["version"] == 2


def test_sharing_with_an_agency_needs_its_admins_consent(dw) -> None:  # type: ignore[no-untyped-def]
    share = actions.offer_share(actor=dw.owner_admin, document=dw.open, agency=dw.nonmember, level="revise")
    assert not can(dw, "nonmember_staff", "view", dw.open), "nothing changes before consent"
    with pytest.raises(PermissionDenied):
        actions.accept_share(actor=dw.nonmember_staff, share=share)  # staff do not decide
    with pytest.raises(PermissionDenied):
        actions.accept_share(actor=dw.owner_admin, share=share)  # the offering side cannot accept
    actions.accept_share(actor=dw.nonmember_admin, share=share)
    assert can(dw, "nonmember_staff", "view", dw.open)
    assert can(dw, "nonmember_staff", "revise", dw.open)
    assert not can(dw, "nonmember_admin", "manage", dw.open)
    response = client_as("nonmember_staff", dw).get(reverse("document_version_download", args=[dw.open.pk, 1]))
    assert response.status_code == 200

    actions.end_share(actor=dw.nonmember_admin, share=share)  # either side may end it
    assert not can(dw, "nonmember_staff", "view", dw.open)
    assert client_as("nonmember_staff", dw).get(reverse("document_detail", args=[dw.open.pk])).status_code == 404


def test_revocation_takes_effect_on_the_next_request(dw) -> None:  # type: ignore[no-untyped-def]
    share = actions.offer_share(actor=dw.owner_admin, document=dw.open, agency=dw.nonmember)
    actions.accept_share(actor=dw.nonmember_admin, share=share)
    client = client_as("nonmember_staff", dw)
    url = reverse("document_download", args=[dw.open.pk])
    assert client.get(url).status_code == 200
    actions.end_share(actor=dw.owner_admin, share=share)
    assert client.get(url).status_code == 404


def test_sharing_with_another_community_needs_its_owners_consent(dw) -> None:  # type: ignore[no-untyped-def]
    other = community_actions.create_community(
        actor=dw.nonmember_admin, name="Pine Basin Partners", purpose="Pine County's flood partners."
    )
    with pytest.raises(ActionError):
        actions.offer_share(actor=dw.owner_admin, document=dw.open, community=other, level="revise")
    share = actions.offer_share(actor=dw.owner_admin, document=dw.open, community=other)
    with pytest.raises(ActionError):
        actions.offer_share(actor=dw.owner_admin, document=dw.open, community=other)  # already waiting
    assert not can(dw, "nonmember_staff", "view", dw.open)
    actions.accept_share(actor=dw.nonmember_admin, share=share)
    assert can(dw, "nonmember_staff", "view", dw.open)
    listed = selectors.documents_in_community(fresh(dw, "nonmember_staff"), other)
    assert [d.title for d in listed] == ["Clinic schedule"]
    assert events(f"community:{other.pk}")[-1][0] == "document.shared"
    actions.end_share(actor=dw.owner_admin, share=share)
    assert not can(dw, "nonmember_staff", "view", dw.open)
    assert events(f"community:{other.pk}")[-1] == ("document.removed", {"document": {"id": dw.open.pk}})


def test_the_receiving_community_can_ask_and_the_owner_agrees(dw) -> None:  # type: ignore[no-untyped-def]
    """Scenario 3: the clinic director asks to share a document with the tribal council's
    community; the agency that owns it agrees."""
    council = community_actions.create_community(
        actor=dw.participant_admin, name="Harbor Council", purpose="The council's working space."
    )
    with pytest.raises(PermissionDenied):
        actions.request_share(actor=dw.participant_staff, document=dw.open, community=council)
    share = actions.request_share(actor=dw.participant_admin, document=dw.open, community=council, message="Please")
    awaiting = selectors.shares_awaiting(fresh(dw, "owner_admin"))
    assert list(awaiting) == [share]
    with pytest.raises(PermissionDenied):
        actions.accept_share(actor=dw.participant_admin, share=share)  # the asking side cannot approve
    actions.accept_share(actor=dw.owner_admin, share=share)
    assert DocumentShare.objects.get(pk=share.pk).status == ShareStatus.ACCEPTED


def test_members_are_given_access_not_shares(dw) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ActionError) as refused:
        actions.offer_share(actor=dw.owner_admin, document=dw.open, agency=dw.participant)
    assert "is a member" in refused.value.message
    with pytest.raises(ActionError):
        actions.offer_share(actor=dw.owner_admin, document=dw.open, community=dw.community)


def test_declined_and_withdrawn_shares_change_nothing(dw) -> None:  # type: ignore[no-untyped-def]
    offer = actions.offer_share(actor=dw.owner_admin, document=dw.open, agency=dw.nonmember)
    actions.decline_share(actor=dw.nonmember_admin, share=offer)
    with pytest.raises(ActionError):
        actions.accept_share(actor=dw.nonmember_admin, share=offer)
    again = actions.offer_share(actor=dw.owner_admin, document=dw.open, agency=dw.nonmember)
    actions.withdraw_share(actor=dw.owner_admin, share=again)
    assert not can(dw, "nonmember_staff", "view", dw.open)


def test_uploads_need_posting_rights_and_an_active_community(dw) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        actions.add_document(actor=dw.observer_staff, community=dw.community, upload=upload())
    community_actions.set_archived(actor=dw.owner_admin, community=dw.community, archived=True)
    dw.community.refresh_from_db()
    dw.open.community.refresh_from_db()
    with pytest.raises(PermissionDenied):
        actions.add_document(actor=fresh(dw, "owner_staff"), community=dw.community, upload=upload())
    with pytest.raises(ActionError):
        actions.revise_document(
            actor=fresh(dw, "owner_staff"), document=dw.open, upload=upload(), based_on=2, change_note="x"
        )


def test_named_participants_only_see_documents_if_named(dw) -> None:  # type: ignore[no-untyped-def]
    """A member agency that names who takes part: the others lose its documents too."""
    extra = PersonFactory(agency=dw.participant, full_name="Pat Unnamed")
    community_actions.set_participants(
        actor=dw.participant_admin, community=dw.community, people=[dw.participant_staff]
    )
    policy.forget(extra)
    assert not policy.can(extra, "view", dw.open)
    assert can(dw, "participant_staff", "view", dw.open)


def test_deleting_removes_every_version_and_file_on_commit(dw, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    blobs = list(dw.open.versions.values_list("blob", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        actions.delete_document(actor=dw.owner_admin, document=dw.open)
    assert not Document.objects.filter(pk=dw.open.pk).exists()
    assert not any(uploads.blob_path(blob).exists() for blob in blobs)
    audit = AuditEvent.objects.get(verb="document.deleted")
    assert [v["number"] for v in audit.details["versions"]] == [2, 1]


def test_every_download_writes_an_audit_event(dw) -> None:  # type: ignore[no-untyped-def]
    client = client_as("observer_staff", dw)
    client.get(reverse("document_version_download", args=[dw.open.pk, 1]))
    event = AuditEvent.objects.filter(verb="document.downloaded").get()
    assert event.actor == dw.observer_staff and event.agency == dw.owner
    assert event.details["version"] == 1


def test_explanations_name_the_grant_behind_each_person(dw) -> None:  # type: ignore[no-untyped-def]
    share = actions.offer_share(actor=dw.owner_admin, document=dw.restricted, agency=dw.nonmember)
    actions.accept_share(actor=dw.nonmember_admin, share=share)
    people = list(selectors.people_who_can_view(Document.objects.get(pk=dw.restricted.pk)))
    names = {p.full_name for p in people}
    assert {"Dana Whitfield", "Luis Ortega", "Ben Adler", "Rita Alvarez", "Owen Hale"} <= names
    assert "Casey Morgan" not in names  # Harbor EM is not named on the restricted document
    rows = {row.person.full_name: row for row in selectors.explain_document_access(dw.restricted, people)}
    assert any("with which the document is shared" in reason for reason in rows["Owen Hale"].reasons)
    assert any("which owns the document" in reason for reason in rows["Dana Whitfield"].reasons)
    assert rows["Dana Whitfield"].also == ["revise", "manage"]
    assert rows["Ben Adler"].also == []


def test_another_member_agency_can_be_given_manage(dw) -> None:  # type: ignore[no-untyped-def]
    actions.set_document_access(
        actor=dw.owner_admin, document=dw.open, restricted=False, levels={dw.participant: AccessLevel.MANAGE}
    )
    assert can(dw, "participant_admin", "manage", dw.open)
    assert not can(dw, "participant_staff", "manage", dw.open)


def test_titles_default_to_the_file_name(dw) -> None:  # type: ignore[no-untyped-def]
    document = actions.add_document(
        actor=dw.owner_staff, community=dw.community, upload=SimpleUploadedFile("Shelter plan.pdf", pdf())
    )
    assert document.title == "Shelter plan"
