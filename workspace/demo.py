"""Demo data: the fictional State of Lakeland (see docs/scenarios.md).

Every step is idempotent: it looks for what it would create and creates only what is
missing, so ``seed_demo`` can run on every start. Everything goes through actions, so the
demo has a real audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from workspace import actions
from workspace.models import Agency, AgencyRole, JurisdictionLevel, StaffInvitation, User

DEMO_PASSWORD = "lakeland-demo-2026"
STATE = "LK"


@dataclass(frozen=True)
class DemoAgency:
    slug: str
    name: str
    short_name: str
    level: str
    domain: str
    parent: str | None = None


@dataclass(frozen=True)
class DemoPerson:
    agency: str
    local: str
    full_name: str
    title: str
    role: str = AgencyRole.STAFF


L = JurisdictionLevel
AGENCIES = [
    DemoAgency("loem", "Lakeland Office of Emergency Management", "LOEM", L.STATE, "loem.lakeland.example"),
    DemoAgency("ldh", "Lakeland Department of Health", "LDH", L.STATE, "health.lakeland.example"),
    DemoAgency("lbo", "Lakeland Broadband Office", "LBO", L.STATE, "broadband.lakeland.example"),
    DemoAgency("ocio", "Lakeland Office of the CIO", "OCIO", L.STATE, "cio.lakeland.example"),
    DemoAgency("harbor-em", "Harbor County Emergency Management", "Harbor EM", L.COUNTY, "em.harborcounty.example"),
    DemoAgency(
        "harbor-health", "Harbor County Public Health", "Harbor Health", L.COUNTY, "health.harborcounty.example"
    ),
    DemoAgency("pine-em", "Pine County Emergency Management", "Pine EM", L.COUNTY, "em.pinecounty.example"),
    DemoAgency("pine-econ", "Pine County Economic Development", "Pine EDC", L.COUNTY, "edc.pinecounty.example"),
    DemoAgency(
        "easton-pw", "City of Easton Public Works", "Easton PW", L.CITY, "publicworks.easton.example", "harbor-em"
    ),
    DemoAgency("easton-library", "City of Easton Library", "Easton Library", L.CITY, "library.easton.example"),
    DemoAgency(
        "red-cedar-es", "Red Cedar Tribal Nation Emergency Services", "Red Cedar ES", L.TRIBAL, "es.redcedar.example"
    ),
    DemoAgency("red-cedar-clinic", "Red Cedar Health Clinic", "Red Cedar Clinic", L.TRIBAL, "clinic.redcedar.example"),
    DemoAgency(
        "tri-county-water",
        "Tri-County Regional Water Authority",
        "Tri-County Water",
        L.SPECIAL_DISTRICT,
        "water.tricounty.example",
    ),
]

A = AgencyRole.ADMIN
PEOPLE = [
    DemoPerson("loem", "dana.whitfield", "Dana Whitfield", "State duty officer", A),
    DemoPerson("loem", "marcus.ortega", "Marcus Ortega", "Planning chief"),
    DemoPerson("ldh", "elena.brooks", "Elena Brooks", "Immunization program manager", A),
    DemoPerson("ldh", "priya.raman", "Priya Raman", "Epidemiologist"),
    DemoPerson("lbo", "grace.liu", "Grace Liu", "Grants program manager", A),
    DemoPerson("lbo", "tom.becker", "Tom Becker", "Grants analyst"),
    DemoPerson("ocio", "samuel.okafor", "Samuel Okafor", "Shared-services lead", A),
    DemoPerson("ocio", "nina.park", "Nina Park", "Security awareness coordinator"),
    DemoPerson("harbor-em", "jordan.reyes", "Jordan Reyes", "County emergency manager", A),
    DemoPerson("harbor-em", "casey.morgan", "Casey Morgan", "Deputy emergency manager"),
    DemoPerson("harbor-health", "alice.chen", "Alice Chen", "Health officer", A),
    DemoPerson("harbor-health", "ben.foster", "Ben Foster", "Immunization clinic coordinator"),
    DemoPerson("pine-em", "rita.alvarez", "Rita Alvarez", "County emergency manager", A),
    DemoPerson("pine-em", "owen.hale", "Owen Hale", "Emergency planner"),
    DemoPerson("pine-econ", "victor.lane", "Victor Lane", "Development director", A),
    DemoPerson("pine-econ", "mia.santos", "Mia Santos", "Business liaison"),
    DemoPerson("easton-pw", "frank.novak", "Frank Novak", "Public works director", A),
    DemoPerson("easton-pw", "leah.kim", "Leah Kim", "Dispatcher"),
    DemoPerson("easton-library", "hannah.ortiz", "Hannah Ortiz", "Branch manager", A),
    DemoPerson("red-cedar-es", "ruth.ahanu", "Ruth Ahanu", "Tribal emergency manager", A),
    DemoPerson("red-cedar-es", "daniel.kee", "Daniel Kee", "Emergency services coordinator (backup contact)"),
    DemoPerson("red-cedar-clinic", "maya.sandoval", "Maya Sandoval", "Clinic director", A),
    DemoPerson("tri-county-water", "greg.holt", "Greg Holt", "Operations manager", A),
    DemoPerson("tri-county-water", "ivy.chen", "Ivy Chen", "Water quality specialist"),
]

# A former Pine County employee, deactivated, to show the state on the staff page.
DEACTIVATED = DemoPerson("pine-em", "sam.keller", "Sam Keller", "Former GIS analyst")
# A pending invitation, so the staff page shows one.
PENDING_INVITE = ("harbor-em", "new.deputy@em.harborcounty.example")


def email_for(person: DemoPerson) -> str:
    domain = next(a.domain for a in AGENCIES if a.slug == person.agency)
    return f"{person.local}@{domain}"


def seed(out: TextIO) -> None:
    """Create every missing demo agency, person, deactivation and invitation."""
    agencies: dict[str, Agency] = {a.slug: a for a in Agency.objects.filter(slug__in=[d.slug for d in AGENCIES])}
    for demo in AGENCIES:
        if demo.slug in agencies:
            continue
        agencies[demo.slug] = actions.create_agency(
            actor=None,
            name=demo.name,
            short_name=demo.short_name,
            slug=demo.slug,
            level=demo.level,
            state=STATE,
            parent=agencies.get(demo.parent) if demo.parent else None,
            contact_email=f"contact@{demo.domain}",
        )
        out.write(f"  agency {demo.short_name}\n")

    existing = set(User.objects.values_list("email", flat=True))
    for person in [*PEOPLE, DEACTIVATED]:
        email = email_for(person)
        if email in existing:
            continue
        actions.add_staff_member(
            actor=None,
            agency=agencies[person.agency],
            email=email,
            full_name=person.full_name,
            title=person.title,
            role=person.role,
            password=DEMO_PASSWORD,
        )
        out.write(f"  person {email} ({person.role})\n")

    pine_admin = User.objects.get(email=email_for(PEOPLE[12]))
    former = User.objects.get(email=email_for(DEACTIVATED))
    if former.is_active:
        actions.deactivate_staff(actor=pine_admin, member=former)

    slug, invitee = PENDING_INVITE
    if not StaffInvitation.objects.filter(email=invitee).exists():
        harbor_admin = User.objects.get(email=email_for(PEOPLE[8]))
        actions.invite_staff(actor=harbor_admin, agency=agencies[slug], email=invitee)

    if not User.objects.filter(email="operator@workspace.example").exists():
        User.objects.create_superuser("operator@workspace.example", DEMO_PASSWORD, full_name="Platform Operator")
        out.write("  operator@workspace.example (admin site)\n")
