"""Demo communities of the State of Lakeland, built through the actions. Idempotent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from communities import actions
from communities.models import (
    Community,
    CommunityInvitation,
    CommunityMembership,
    CommunityRole,
    JoinRequest,
    Moderator,
    Visibility,
)
from workspace.models import Agency, AgencyRole, User

R = CommunityRole


@dataclass(frozen=True)
class DemoCommunity:
    slug: str
    name: str
    owner: str
    purpose: str
    tags: tuple[str, ...]
    members: dict[str, str] = field(default_factory=dict)
    visibility: str = Visibility.LISTED
    description: str = ""
    entry_requirements: str = ""


COMMUNITIES = [
    DemoCommunity(
        "lakeland-emergency-coordination",
        "Lakeland Regional Emergency Coordination",
        "loem",
        "Coordinate emergency response across state, county, city, tribal and district agencies.",
        ("emergency management", "flood"),
        {
            "harbor-em": R.PARTICIPANT,
            "pine-em": R.PARTICIPANT,
            "easton-pw": R.PARTICIPANT,
            "red-cedar-es": R.PARTICIPANT,
            "tri-county-water": R.OBSERVER,
        },
        description="Incidents, urgent alerts and status reports during floods, fires and other emergencies.",
        entry_requirements="Emergency management and public works agencies with a 24/7 duty contact in Lakeland.",
    ),
    DemoCommunity(
        "lakeland-health-coalition",
        "Lakeland Regional Health Coalition",
        "ldh",
        "Share clinic schedules, exposure notices and guidance among public health agencies.",
        ("public health", "immunization"),
        {
            "harbor-health": R.PARTICIPANT,
            "red-cedar-clinic": R.PARTICIPANT,
            "loem": R.OBSERVER,
            "harbor-em": R.OBSERVER,
        },
        entry_requirements="Public health agencies and tribal clinics serving Lakeland residents.",
    ),
    DemoCommunity(
        "pine-county-economic-development-partners",
        "Pine County Economic Development Partners",
        "pine-econ",
        "Bring broadband, business and workforce programs to Pine County.",
        ("broadband", "economic development"),
        {"lbo": R.PARTICIPANT},
        entry_requirements="Agencies running programs for Pine County businesses and residents.",
    ),
    DemoCommunity(
        "red-cedar-community-services",
        "Red Cedar Community Services",
        "red-cedar-clinic",
        "Services for Red Cedar Tribal Nation members, coordinated with state partners.",
        ("tribal services",),
        {"red-cedar-es": R.OWNER},
        visibility=Visibility.UNLISTED,
    ),
    DemoCommunity(
        "lakeland-shared-it-services",
        "Lakeland Shared IT Services",
        "ocio",
        "Reuse state contracts for cloud hosting and cybersecurity training.",
        ("shared services", "cybersecurity"),
        {"easton-pw": R.PARTICIPANT, "pine-em": R.OBSERVER},
        entry_requirements="Any Lakeland public agency; name an IT contact when you ask to join.",
    ),
]

# Pending consent, so both flows can be tried at once after a fresh start.
PENDING_INVITATIONS = [("lakeland-shared-it-services", "harbor-em", R.PARTICIPANT)]
PENDING_REQUESTS = [
    ("lakeland-shared-it-services", "pine-econ", "We want the cybersecurity training contract for our staff."),
    ("pine-county-economic-development-partners", "easton-library", "Our library runs digital-inclusion classes."),
]


def _admin(agency: Agency) -> User:
    return User.objects.filter(membership__agency=agency, membership__role=AgencyRole.ADMIN, is_active=True).first()


def seed(out: TextIO) -> None:
    agencies = {a.slug: a for a in Agency.objects.all()}
    for demo in COMMUNITIES:
        owner = agencies[demo.owner]
        community = Community.objects.filter(slug=demo.slug).first()
        if community is None:
            community = actions.create_community(
                actor=_admin(owner),
                name=demo.name,
                slug=demo.slug,
                purpose=demo.purpose,
                description=demo.description,
                visibility=demo.visibility,
                entry_requirements=demo.entry_requirements,
                tags=demo.tags,
            )
            out.write(f"  community {demo.name}\n")
        for slug, role in demo.members.items():
            agency = agencies[slug]
            if CommunityMembership.objects.filter(community=community, agency=agency).exists():
                continue
            invitation = actions.invite_agency(actor=_admin(owner), community=community, agency=agency, role=role)
            actions.accept_invitation(actor=_admin(agency), invitation=invitation)

    # In the health coalition, LOEM takes part through its planning chief only, and a
    # Harbor County nurse coordinator moderates.
    coalition = Community.objects.get(slug="lakeland-health-coalition")
    loem = CommunityMembership.objects.get(community=coalition, agency=agencies["loem"])
    if loem.all_staff:
        planner = User.objects.get(email="marcus.ortega@loem.lakeland.example")
        actions.set_participants(actor=_admin(agencies["loem"]), community=coalition, people=[planner])
    nurse = User.objects.get(email="ben.foster@health.harborcounty.example")
    if not Moderator.objects.filter(community=coalition, user=nurse).exists():
        actions.appoint_moderator(actor=_admin(agencies["ldh"]), community=coalition, person=nurse)

    for community_slug, agency_slug, role in PENDING_INVITATIONS:
        community, agency = Community.objects.get(slug=community_slug), agencies[agency_slug]
        if not CommunityInvitation.objects.filter(community=community, agency=agency).exists():
            owner = CommunityMembership.objects.filter(community=community, role=R.OWNER).first().agency
            actions.invite_agency(actor=_admin(owner), community=community, agency=agency, role=role)

    for community_slug, agency_slug, reason in PENDING_REQUESTS:
        community, agency = Community.objects.get(slug=community_slug), agencies[agency_slug]
        if not JoinRequest.objects.filter(community=community, agency=agency).exists():
            actions.request_to_join(actor=_admin(agency), community=community, reason=reason)
