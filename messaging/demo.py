"""Demo threads of the State of Lakeland, written through the actions. Idempotent.

Each message has a fixed ``client_id`` (derived from its thread's title and position), so
a second run posts nothing: ``post_message`` hands back the message already stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TextIO

from communities.models import Community
from messaging import actions
from messaging.models import Message, Thread
from workspace.models import Agency, User

NAMESPACE = uuid.UUID("6f1c9a52-3d1e-4b8a-9a57-0c1e5d2f7b10")


@dataclass(frozen=True)
class DemoMessage:
    author: str  # email
    body: str
    reply_to: int | None = None  # position of an earlier message in the thread
    reactions: tuple[tuple[str, str], ...] = ()  # (email, emoji)


@dataclass(frozen=True)
class DemoThread:
    community: str
    title: str
    messages: list[DemoMessage]
    restrict_to: tuple[str, ...] | None = None  # agency slugs


JORDAN = "jordan.reyes@em.harborcounty.example"
CASEY = "casey.morgan@em.harborcounty.example"
FRANK = "frank.novak@publicworks.easton.example"
LEAH = "leah.kim@publicworks.easton.example"
DANA = "dana.whitfield@loem.lakeland.example"
PRIYA = "priya.raman@health.lakeland.example"
ELENA = "elena.brooks@health.lakeland.example"
BEN = "ben.foster@health.harborcounty.example"
ALICE = "alice.chen@health.harborcounty.example"
MAYA = "maya.sandoval@clinic.redcedar.example"

THREADS = [
    DemoThread(
        "lakeland-emergency-coordination",
        "Easton River Flood: sandbag requests",
        [
            DemoMessage(
                JORDAN,
                "The Easton River is forecast to crest at **21.4 ft** Thursday around 06:00.\n\n"
                "Harbor EM can stage 8,000 sandbags at the county fairgrounds today. "
                "Post your requests here with a location and a contact.",
            ),
            DemoMessage(
                FRANK,
                "Easton Public Works needs **20,000 sandbags** for River Road and the water plant levee.\n\n"
                "- two loaders and crews from 14:00\n- short of bags and sand\n\nContact: our dispatch desk.",
                reactions=((JORDAN, "👀"),),
            ),
            DemoMessage(
                DANA,
                "LOEM released 12,000 bags from the state depot in Lakeland, delivered to the Easton PW yard "
                "by 18:00. Harbor's 8,000 make up the rest.",
                reply_to=1,
                reactions=((FRANK, "👍"), (JORDAN, "👍")),
            ),
            DemoMessage(
                LEAH,
                "Dispatch will meet the state trucks at the Easton PW yard, 400 Mill Street.",
                reply_to=2,
            ),
            DemoMessage(CASEY, "Harbor's 8,000 are loaded. On River Road by 16:30.", reactions=((DANA, "✅"),)),
        ],
    ),
    DemoThread(
        "lakeland-health-coalition",
        "Fall immunization clinic schedule",
        [
            DemoMessage(
                ELENA,
                "The fall flu and COVID clinic schedule is final for October. Please check your county's dates "
                "before we publish it on Friday.",
            ),
            DemoMessage(ALICE, "Harbor County dates are right. We add a Saturday clinic on the 19th in Easton."),
        ],
    ),
    DemoThread(
        "lakeland-health-coalition",
        "Measles exposure follow-up",
        [
            DemoMessage(
                PRIYA,
                "Confirmed measles case. Exposure at the Harbor County Public Health clinic waiting room, "
                "Tuesday 9:00 to 11:30.\n\nThe contact list stays in the case system: "
                "**do not copy names into this thread.**",
            ),
            DemoMessage(
                BEN,
                "Harbor Health has reached 30 of 42 contacts. MMR at the clinic Thursday and Friday, 8:00 to 16:00.",
                reactions=((PRIYA, "🙏"),),
            ),
            DemoMessage(MAYA, "Three of the contacts are our patients. We call them today and report by 17:00."),
        ],
        restrict_to=("ldh", "harbor-health", "red-cedar-clinic"),
    ),
]


def _client_id(thread: DemoThread, position: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{thread.community}/{thread.title}/{position}")


def seed(out: TextIO) -> None:
    people = {user.email: user for user in User.objects.select_related("membership__agency")}
    for demo in THREADS:
        community = Community.objects.get(slug=demo.community)
        first = demo.messages[0]
        thread = Thread.objects.filter(community=community, title=demo.title).first()
        if thread is None:
            restrict_to = None
            if demo.restrict_to is not None:
                restrict_to = list(Agency.objects.filter(slug__in=demo.restrict_to))
            thread = actions.create_thread(
                actor=people[first.author],
                community=community,
                title=demo.title,
                body=first.body,
                client_id=_client_id(demo, 0),
                restrict_to=restrict_to,
            )
            out.write(f"  thread {demo.title}\n")
        posted: list[Message] = [Message.objects.get(author=people[first.author], client_id=_client_id(demo, 0))]
        for position, message in enumerate(demo.messages[1:], start=1):
            reply_to = posted[message.reply_to].pk if message.reply_to is not None else None
            posted.append(
                actions.post_message(
                    actor=people[message.author],
                    thread=thread,
                    body=message.body,
                    client_id=_client_id(demo, position),
                    reply_to_id=reply_to,
                ).message
            )
        for message, stored in zip(demo.messages, posted, strict=True):
            for email, emoji in message.reactions:
                actions.react(actor=people[email], message=stored, emoji=emoji)
