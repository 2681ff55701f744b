"""Messaging records: in-app notifications, threads and messages, and the event log that
live clients replay from."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from workspace.models import Agency, User


class Notification(models.Model):
    """One thing a person should know about, shown in their notification list.

    Written only by ``messaging.notifications.notify`` (inside the action that caused it)
    and marked read only by ``messaging.actions.mark_read``.
    """

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=60, help_text="What happened, as app.event, e.g. community.invited.")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, help_text="Plain text; escaped when shown.")
    url = models.CharField(max_length=500, blank=True, help_text="Internal path of the page it is about.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx")]

    def __str__(self) -> str:
        return f"{self.title} (to {self.recipient_id})"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


# --- Threads and messages -----------------------------------------------------------------


class Thread(models.Model):
    """A topic inside a community. Optionally restricted to some of its member agencies:
    then only their people see it, anywhere (lists, streams, search, feeds)."""

    community = models.ForeignKey("communities.Community", on_delete=models.CASCADE, related_name="threads")
    title = models.CharField(max_length=200)
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    author_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_activity_at = models.DateTimeField(default=timezone.now)
    restricted = models.BooleanField(default=False)
    allowed_agencies = models.ManyToManyField(Agency, blank=True, related_name="restricted_threads")
    is_pinned = models.BooleanField(default=False)
    is_locked = models.BooleanField(default=False)
    is_archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_pinned", "-last_activity_at", "-pk"]
        indexes = [models.Index(fields=["community", "-last_activity_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def stream(self) -> str:
        return f"thread:{self.pk}"


class Message(models.Model):
    """One message in a thread. Markdown source and its sanitized HTML, rendered once.

    Deleting hides the content from everyone but keeps the row (and its revisions) for the
    record. ``client_id`` makes posting idempotent per author.
    """

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    author_agency = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    body_source = models.TextField()
    body_html = models.TextField()
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    client_id = models.UUIDField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["author", "client_id"], name="one_message_per_client_id")]
        indexes = [models.Index(fields=["thread", "created_at"])]

    def __str__(self) -> str:
        return f"Message {self.pk} in {self.thread_id}"


class MessageRevision(models.Model):
    """An earlier text of an edited message, kept for the record."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="revisions")
    body_source = models.TextField()
    body_html = models.TextField()
    replaced_at = models.DateTimeField(default=timezone.now)
    replaced_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["message", "replaced_at"]

    def __str__(self) -> str:
        return f"Revision of message {self.message_id}"


class Reaction(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user", "emoji"], name="one_reaction_each")]

    def __str__(self) -> str:
        return f"{self.emoji} on {self.message_id}"


class Mention(models.Model):
    """A person or an agency named with @ in a message."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"Mention in {self.message_id}"


class ThreadRead(models.Model):
    """How far a person has read a thread (by event seq), for unread counts."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="thread_reads")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="reads")
    last_read_message = models.ForeignKey(Message, null=True, on_delete=models.SET_NULL, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "thread"], name="one_read_marker")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.thread_id}"


# --- The event log --------------------------------------------------------------------------


class StreamCursor(models.Model):
    """The last sequence number handed out on a stream. Locked while allocating."""

    stream = models.CharField(max_length=64, primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.stream}@{self.seq}"


class StreamEvent(models.Model):
    """One change a live client must see, written in the same transaction as the change.

    ``seq`` increases by one per stream. Clients replay from here after a gap or a
    reconnect; old rows are pruned (``prune_events``), and a ``since`` older than what is
    kept answers ``resync``.
    """

    stream = models.CharField(max_length=64)
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=40)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["stream", "seq"]
        constraints = [models.UniqueConstraint(fields=["stream", "seq"], name="one_event_per_seq")]

    def __str__(self) -> str:
        return f"{self.stream}#{self.seq} {self.kind}"


from messaging.incidents.models import (  # noqa: E402, F401  (registered with this app)
    Alert,
    AlertEscalation,
    AlertRecipient,
    BoardActivity,
    BoardEntry,
    Incident,
    OperationalPeriod,
)
