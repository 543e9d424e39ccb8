"""Inbound web forms (Bitrix24's CRM forms): `POST /inbound/{token}` makes a lead.

A *source* is a form (or any system) holding a token; only the token's sha256 is stored, as
for invites. A submission makes a lead (Classic mode) or a deal with its contact (Simple mode)
whose source is the source's dictionary code, and, when the source is bound to a triage group
(or exactly one group is bound), a request in that queue whose card the courier posts.

Decisions:
- **Who creates it.** Nobody acted, so a *system actor* does: the ADMIN role — a token an admin
  issued is the authorization, so the policy never refuses a form, and the duplicate check sees
  every element — under the user id of the group's binder (else the longest-standing admin),
  because an element needs a responsible user. That user is the lead's responsible until a
  member takes the request; the timeline's triage entry has no author (shown as "system").
- **Duplicates do not block.** A client filling a form must never be refused because they are
  already known: the lead is made, and the request's `extra["_similar"]` lists the codes of
  the similar elements found so the card can say so (the codes only: who may read them is
  decided when one is opened). Whoever takes the request becomes the lead's responsible.
- **Replays.** `Idempotency-Key` given: the same key of the same source is the same submission
  for good. Without it: the same canonical body within 60 s is. Both are one unique row in
  `inbound_submissions`, so two identical posts at the same moment on two instances make one
  lead: the loser's INSERT fails and it answers with the winner's lead.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from crm.codes import ElementRef
from crm.elements import MAX_TITLE, DuplicateHit, ElementInput, ElementService
from crm.enums import EntityType, Role, TimelineKind
from crm.errors import CrmError, InvalidValue, NameTaken, NotFound
from crm.modes import CrmMode
from crm.parsing import normalize_email, normalize_phone
from crm.permissions import Actor
from crm.triage import MAX_TEXT, Incoming, Origin, TriageService
from crm.users import hash_code
from storage.models import InboundSource, InboundSubmission, TriageQueue
from storage.repositories import Repos

if TYPE_CHECKING:
    from crm.context import Runtime

REPLAY_WINDOW = timedelta(seconds=60)
# The request's `extra` holds the form's own fields as posted, and these two of ours (a form's
# field never starts with "_": those are dropped as a framework's own, such as `_token`).
FORM = "_form"  # the source's name
SIMILAR = "_similar"  # codes of similar elements found when the lead was made
TOKEN_BYTES = 24  # 32 URL-safe characters
DEFAULT_SOURCE = "WEBFORM"  # Bitrix24's "CRM form" source
IDEMPOTENCY_KEY_MAX = 64
# What a form's field may hold; longer values are cut, not refused (a lead is never lost to
# a long message). More extra fields than EXTRA_FIELDS_MAX is refused: that is not a form.
LIMITS = {"name": 255, "phone": 64, "email": 255, "message": MAX_TEXT}
EXTRA_FIELDS_MAX = 50
EXTRA_KEY_MAX = 64
EXTRA_VALUE_MAX = 2000
# Other names forms commonly give the four known fields (compared case-insensitively).
ALIASES = {
    "name": "name", "full_name": "name", "fullname": "name", "fio": "name", "imie": "name",
    "phone": "phone", "tel": "phone", "telephone": "phone", "phone_number": "phone",
    "mobile": "phone", "telefon": "phone",
    "email": "email", "e-mail": "email", "mail": "email", "e_mail": "email",
    "message": "message", "comment": "message", "text": "message", "msg": "message",
    "wiadomosc": "message", "question": "message",
}  # fmt: skip


class UnknownSource(CrmError):
    """No active source has this token: said the same for a revoked one and a made-up one."""


class EmptyForm(CrmError):
    """Nothing to make a lead of: no name, phone, e-mail nor message."""


class NoOwner(CrmError):
    """No active admin to own what a form makes (the CRM has not been set up)."""


@dataclass(frozen=True, slots=True)
class WebForm:
    """A form's fields, read and cut to their limits."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    message: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, fields: Mapping[str, str]) -> WebForm:
        """From the posted fields (strings; the front end refused other types)."""
        known: dict[str, str] = {}
        extra: dict[str, str] = {}
        for raw_key, raw_value in fields.items():
            key = raw_key.strip()
            value = raw_value.strip()
            if not key or not value or key.startswith("_"):
                continue  # `_token`, `_wpnonce`: a framework's own fields, not the client's
            target = ALIASES.get(key.lower())
            if target is not None and target not in known:
                known[target] = value[: LIMITS[target]]
                continue
            if len(extra) >= EXTRA_FIELDS_MAX:
                raise InvalidValue("fields", str(len(fields)))
            extra[key[:EXTRA_KEY_MAX]] = value[:EXTRA_VALUE_MAX]
        return cls(extra=extra, **known)

    @property
    def useful(self) -> bool:
        return bool(self.name or self.phone or self.email or self.message)

    def digest(self) -> str:
        """The same form posted as JSON or form-encoded, fields in any order: one digest."""
        canonical = json.dumps(
            {
                "name": self.name,
                "phone": self.phone,
                "email": self.email,
                "message": self.message,
                "extra": self.extra,
            },
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedSource:
    source: InboundSource
    token: str  # shown once; only its hash is stored


@dataclass(frozen=True, slots=True)
class SourceInfo:
    source: InboundSource
    queue: TriageQueue | None


@dataclass(frozen=True, slots=True)
class Submitted:
    replay: bool  # the same submission as before: nothing new was made
    request_id: int | None  # the triage request (None: no group to post to)
    element: ElementRef | None
    similar: tuple[str, ...] = ()  # codes of similar elements found (the lead was made anyway)


class InboundService:
    def __init__(
        self, repos: Repos, runtime: Runtime, elements: ElementService, triage: TriageService
    ) -> None:
        self.repos = repos
        self.runtime = runtime
        self.elements = elements
        self.triage = triage

    # --- sources (`crmbot source …`: the command line holds the database, no actor) ----------
    async def add_source(
        self, name: str, *, source: str = DEFAULT_SOURCE, chat_id: int | None = None
    ) -> IssuedSource:
        name = " ".join(name.split())[:120]
        if not name:
            raise InvalidValue("name", "")
        if await self.repos.triage.source_by_name(name) is not None:
            raise NameTaken("source", name)
        code = source.strip().upper()
        if await self.repos.pipelines.dictionary_item("source", code) is None:
            raise NotFound("source", code[:64])
        queue_id = None
        if chat_id is not None:
            queue = await self.repos.triage.queue_by_chat(chat_id)
            if queue is None:
                raise NotFound("group", chat_id)
            queue_id = queue.id
        token = secrets.token_urlsafe(TOKEN_BYTES)
        item = InboundSource(
            name=name, token_hash=hash_code(token), source=code, queue_id=queue_id
        )
        await self.repos.triage.add(item)
        await self.repos.commit()
        return IssuedSource(item, token)

    async def sources(self) -> list[SourceInfo]:
        found = []
        for item in await self.repos.triage.sources():
            queue = await self.repos.triage.queue(item.queue_id) if item.queue_id else None
            found.append(SourceInfo(item, queue))
        return found

    async def revoke(self, name: str) -> InboundSource:
        item = await self.repos.triage.source_by_name(" ".join(name.split()))
        if item is None:
            raise NotFound("source", name[:120])
        item.active = False
        await self.repos.commit()
        return item

    async def any_active(self) -> bool:
        return await self.repos.triage.any_active_source()

    # --- submissions -------------------------------------------------------------------------
    async def source_of(self, token: str) -> InboundSource:
        """The active source holding `token`. Looked up by the token's hash: the database
        compares digests, so the time taken says nothing about the token."""
        if not token or len(token) > 128:
            raise UnknownSource()
        item = await self.repos.triage.source_by_token_hash(hash_code(token))
        if item is None:
            raise UnknownSource()
        return item

    async def submit(
        self, source: InboundSource, form: WebForm, idempotency_key: str | None = None
    ) -> Submitted:
        """A form posted to `source`: a lead (or deal) and its request, or — for a replay —
        what the first post made. All in one transaction: a refusal stores nothing."""
        if not form.useful:
            raise EmptyForm()
        if idempotency_key is not None:
            if not (
                0 < len(idempotency_key) <= IDEMPOTENCY_KEY_MAX
                and idempotency_key.isascii()
                and idempotency_key.isprintable()
            ):
                raise InvalidValue("idempotency_key", idempotency_key[:IDEMPOTENCY_KEY_MAX])
            key = f"key:{idempotency_key}"
        else:
            key = f"body:{form.digest()}"
        now = self.runtime.clock.now()
        source_id = source.id  # a rollback below expires `source`
        found = await self.repos.triage.submission(source_id, key)
        if found is not None:
            if idempotency_key is not None or now - found.created_at < REPLAY_WINDOW:
                return self._replay(found)
            await self.repos.triage.retire_submission(found.id, key)
        submission = InboundSubmission(source_id=source_id, key=key, created_at=now)
        try:
            await self.repos.triage.add(submission)
        except IntegrityError:
            # Another instance took this key a moment ago; its transaction has committed
            # (PostgreSQL held our INSERT until it did): answer with what it made.
            await self.repos.session.rollback()
            found = await self.repos.triage.submission(source_id, key)
            if found is None:
                raise
            return self._replay(found)
        try:
            made = await self._make(source, form, submission)
        except Exception:
            await self.repos.session.rollback()
            raise
        await self.repos.commit()
        return made

    async def _make(
        self, source: InboundSource, form: WebForm, submission: InboundSubmission
    ) -> Submitted:
        queue = await self._queue_of(source)
        actor = await self._system_actor(queue)
        data = self.input_of(form, source.source)
        classic = await self.elements.mode() is CrmMode.CLASSIC
        hits = await self.elements.find_duplicates(
            actor, EntityType.LEAD if classic else EntityType.CONTACT, data
        )
        similar = similar_of(hits)
        creation = await self.elements.create(
            actor, EntityType.LEAD if classic else EntityType.DEAL, data, commit=False
        )
        request_id = None
        if queue is not None:
            received = await self.triage.receive_form(queue, self.incoming_of(form, source))
            request = received.request
            if similar:
                request.extra = {**request.extra, SIMILAR: list(similar)}
            request.element_entity = creation.primary.entity.value
            request.element_id = creation.primary.id
            request_id = request.id
        await self.elements.record(
            None,
            creation.primary,
            TimelineKind.TRIAGE,
            request=request_id,
            group=(queue.title or "") if queue is not None else "",
            origin=Origin.WEB.value,
            form=source.name,
            similar=list(similar),
        )
        submission.request_id = request_id
        submission.element_entity = creation.primary.entity.value
        submission.element_id = creation.primary.id
        return Submitted(False, request_id, creation.primary, similar)

    @staticmethod
    def _replay(found: InboundSubmission) -> Submitted:
        element = (
            ElementRef(EntityType(found.element_entity), found.element_id)
            if found.element_entity and found.element_id
            else None
        )
        return Submitted(True, found.request_id, element)

    async def _queue_of(self, source: InboundSource) -> TriageQueue | None:
        """The source's group while it is active; unbound, the only active group, if one."""
        if source.queue_id is not None:
            queue = await self.repos.triage.queue(source.queue_id)
            return queue if queue is not None and queue.active else None
        return await self.repos.triage.only_active_queue()

    async def _system_actor(self, queue: TriageQueue | None) -> Actor:
        owner = None
        if queue is not None and queue.created_by_id is not None:
            owner = await self.repos.users.get(queue.created_by_id)
        if owner is None or not owner.is_active:
            owner = await self.repos.users.first_admin()
        if owner is None:
            raise NoOwner()
        return Actor(
            user_id=owner.id, role=Role.ADMIN, department_id=owner.department_id, system=True
        )

    def input_of(self, form: WebForm, source: str) -> ElementInput:
        """The form as a new element: its fields as they are (not read as a one-line
        command), the message and the extra fields in the comment."""
        phone = normalize_phone(form.phone) if form.phone else None
        email = normalize_email(form.email) if form.email else None
        lines = [form.message] if form.message else []
        # What could not be read as a phone or an e-mail is kept as given.
        if form.phone and phone is None:
            lines.append(f"phone: {form.phone}")
        if form.email and email is None:
            lines.append(f"email: {form.email}")
        lines.extend(f"{key}: {value}" for key, value in form.extra.items())
        first_line = (form.message or "").strip().splitlines()[0] if form.message else ""
        title = first_line[:MAX_TITLE] or form.name or phone or email or form.phone or ""
        return ElementInput(
            title=title,
            name=form.name,
            phones=(phone,) if phone else (),
            emails=(email,) if email else (),
            comment="\n".join(lines)[:MAX_TEXT] or None,
            source=source,
        )

    @staticmethod
    def incoming_of(form: WebForm, source: InboundSource) -> Incoming:
        return Incoming(
            origin=Origin.WEB,
            text=form.message or "",
            phone=(normalize_phone(form.phone) or form.phone) if form.phone else None,
            email=(normalize_email(form.email) or form.email) if form.email else None,
            contact_name=form.name,
            source=source.source,
            extra={**form.extra, FORM: source.name},
        )


def similar_of(hits: list[DuplicateHit]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(hit.ref.code for hit in hits))
