"""What a page of outbox messages is about: the rows, their steps and those steps'
neighbours read with a handful of queries for the whole page, turned into
`notifications.rendering.MessageFacts` (names, dates, links), then rendered and built
into mails (`notifications.mime`) ready to send. Reads only, outside any transaction:
the sender holds no lock while it prepares a page.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import emails
from sqlmodel import Session, select

from arshjul.core.links import LinkMaker, stable_token_id
from models import notices as n
from models.definition import Definition
from models.dependencies import Neighbours
from models.people import Directory
from models.permissions import allowed_actions
from models.queries import digest_news, digest_steps, link_generations
from models.states import state_label, step_is_done
from models.tables import Mode, OutboxMessage, StepInstance
from notifications.attachments import events_for
from notifications.mime import OutboxMail, outbox_mail
from notifications.rendering import DueItem, MessageFacts, NewsItem, StepFacts, render

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """One mail of claimed rows (one row, or a person's combined scheduled rows), built
    and ready to send, or the reason it could not be."""

    rows: list[OutboxMessage]
    message: emails.Message | None = None
    error: str | None = None

    @property
    def row(self) -> OutboxMessage:
        return self.rows[0]

    @property
    def message_id(self) -> str:
        return str(self.message.message_id) if self.message is not None else self.row.message_id


def mail_groups(rows: list[OutboxMessage]) -> list[list[OutboxMessage]]:
    """The mails a page of rows makes, in the order of their first rows: each person's
    scheduled rows (`COMBINED_KINDS`) together as their claim composed them (one
    Message-ID), every other row alone."""
    groups: list[list[OutboxMessage]] = []
    scheduled: dict[tuple[str, str], list[OutboxMessage]] = {}
    for row in rows:
        if row.kind in n.COMBINED_KINDS:
            # Rows a claim composed stay the mail they were (a resend after a crash);
            # the rest of a person's scheduled rows make one new mail.
            mail = (row.recipient_key, row.message_id if n.is_composed(row.key, row.message_id) else "")
            if mail not in scheduled:
                scheduled[mail] = []
                groups.append(scheduled[mail])
            scheduled[mail].append(row)
        else:
            groups.append([row])
    return groups


class MessageBuilder:
    """Gathers what messages are about (reads, a page at a time), renders them (pure) and
    builds the MIME messages with their calendar attachments."""

    def __init__(
        self,
        definition: Definition,
        directory: Directory,
        *,
        ui_url: str,
        sender: str,
        links: LinkMaker | None = None,
    ):
        self.definition = definition
        self.org = definition.organisation
        self.directory = directory
        self.ui_url = ui_url.rstrip("/")
        self.sender = sender
        # Signed links to the web app, one per recipient and step; without them (a
        # caller that only renders) a mail links to the step's run in the Prefect UI.
        self.links = links
        self.generations: dict[str, int] = {}

    def run_url(self, step: StepInstance) -> str | None:
        return f"{self.ui_url}/runs/flow-run/{step.flow_run_id}" if step.flow_run_id else None

    def step_url(self, step: StepInstance, row: OutboxMessage | None = None, purpose: str = "") -> str | None:
        """The recipient's own signed link to the step (with the actions they may take
        now), or without link keys the step's run."""
        if self.links is None or row is None:
            return self.run_url(step)
        person = row.recipient_key
        return self.links.step_url(
            person=person,
            step=step,
            actions=allowed_actions(step, person, self.directory),
            generation=self.generations.get(person, 0),
            issued=row.created_at,
            token_id=stable_token_id(row.key, purpose, step.id, step.state_version),
        )

    def personal_url(self, row: OutboxMessage) -> str | None:
        """The recipient's "Mina steg" link."""
        if self.links is None:
            return None
        person = row.recipient_key
        return self.links.personal_url(
            person=person,
            generation=self.generations.get(person, 0),
            issued=row.created_at,
            token_id=stable_token_id(row.key, "mina-steg", self.generations.get(person, 0)),
        )

    def step_facts(
        self, step: StepInstance, neighbours: Neighbours, today: dt.date, row: OutboxMessage | None = None
    ) -> StepFacts:
        owner = self.directory.members.get(step.owner)
        decided_by = subject = step.decided_by
        if decided_by in self.org.roles or decided_by in self.org.bodies:
            decided_by, subject = self.org.decider_name(decided_by), self.org.decider_subject(decided_by)
        return StepFacts(
            name=step.name,
            unit_name=step.unit_name,
            owner_name=owner.name if owner else (step.owner or "–"),
            owner_title=owner.title if owner else None,
            due=step.due,
            opens=step.opens,
            decided_by_name=decided_by,
            decider_name=self.directory.name(step.decider) if step.decider else None,
            meeting=step.meeting,
            state_label=state_label(step, today),
            url=self.step_url(step, row),
            description=step.description,
            last_comment=step.last_comment,
            diarienummer=step.diarienummer,
            waiting_for=tuple(f"{b.name} · {b.unit_name}" for b in neighbours.unfinished_dependencies(step)),
            waiting_downstream=tuple(
                f"{d.name} · {d.unit_name}" for d in neighbours.dependents(step) if not step_is_done(d)
            ),
            decided_by_subject=subject,
        )

    def digest_lists(
        self, row: OutboxMessage, session: Session, today: dt.date, mode: Mode
    ) -> tuple[tuple[StepFacts, ...], tuple[StepFacts, ...], tuple[StepFacts, ...]]:
        """The person's open, coming and to-decide steps, of the digest's own mode's cycles."""
        person = row.recipient_key
        digest = digest_steps(session=session, person=person, today=today, calendar=self.org.calendar, mode=mode)
        neighbours = Neighbours.load([s.id for s in digest.all], session=session)

        def facts(steps: list[StepInstance]) -> tuple[StepFacts, ...]:
            return tuple(self.step_facts(s, neighbours, today, row) for s in steps)

        return facts(digest.open), facts(digest.coming), facts(digest.to_decide)

    def news(self, row: OutboxMessage, session: Session, today: dt.date) -> tuple[NewsItem, ...]:
        """What happened to the person's steps between their previous digest and this one
        (every day a digest was skipped included)."""
        found = digest_news(session=session, digest=row)
        neighbours = Neighbours.load([step.id for _, step in found], session=session)
        return tuple(NewsItem(kind, self.step_facts(step, neighbours, today, row)) for kind, step in found)

    def facts(
        self, row: OutboxMessage, step: StepInstance | None, neighbours: Neighbours, session: Session, now: dt.datetime
    ) -> MessageFacts:
        today = self.org.calendar.local_date(now)
        context = row.context or {}
        common = dict(
            recipient_name=self.directory.name(row.recipient_key),
            organisation_name=self.org.info.name,
            on_behalf_of_name=self.directory.name(row.on_behalf_of) if row.on_behalf_of else None,
            today=today,
            ui_url=self.ui_url,
            mine_url=self.personal_url(row),
        )
        if row.kind == n.DIGEST:
            open_steps, coming, to_decide = self.digest_lists(row, session, today, row.mode)
            return MessageFacts(
                kind=row.kind,
                step=None,
                digest_daily=bool(context.get("daily")),
                digest_open=open_steps,
                digest_coming=coming,
                digest_to_decide=to_decide,
                digest_news=self.news(row, session, today),
                **common,
            )
        if row.kind == n.CHECKPOINT:
            # To the auditors' address, not a person of the register: no personal links.
            common |= dict(recipient_name="Revisorerna", mine_url=None)
            return MessageFacts(kind=row.kind, step=None, checkpoint=context.get("checkpoint"), **common)
        if row.kind == n.NEW_LINK and row.instance_id is None:
            return MessageFacts(kind=row.kind, step=None, reason=context.get("reason"), **common)
        if step is None:
            raise LookupError(f"steget {row.instance_id} som meddelandet handlar om finns inte")
        escalation_owner = context.get("owner") or step.owner
        return MessageFacts(
            kind=row.kind,
            step=self.step_facts(step, neighbours, today, row),
            working_days_left=context.get("working_days_left"),
            working_days_late=context.get("working_days_late") if row.kind in (n.OVERDUE, n.ESCALATION) else None,
            acted_by_name=self.directory.name(context["by"]) if context.get("by") else None,
            comment=context.get("comment") or None,
            old_due=dt.date.fromisoformat(context["old_due"]) if context.get("old_due") else None,
            reason=context.get("reason"),
            escalation_owner_name=self.directory.name(escalation_owner) if row.kind == n.ESCALATION else None,
            period_name=context.get("period"),
            warnings=tuple(context.get("warnings", ())),
            previous_owner_name=self.directory.name(context["from"]) if context.get("from") else None,
            **common,
        )

    def prepare(self, message_ids: list[int], session: Session, now: dt.datetime) -> list[Prepared]:
        """The mails of the messages (`mail_groups`), read with a handful of queries for
        the whole page, in the order of `message_ids`. A mail that cannot be built is
        returned with its error instead of stopping the page."""
        rows = {row.id: row for row in session.exec(select(OutboxMessage).where(OutboxMessage.id.in_(message_ids)))}
        step_ids = {row.instance_id for row in rows.values() if row.instance_id is not None}
        steps = {step.id: step for step in session.exec(select(StepInstance).where(StepInstance.id.in_(step_ids)))}
        neighbours = Neighbours.load(steps, session=session)
        if self.links is not None:
            self.generations = link_generations(
                session=session,
                organisation=self.org.info.key,
                people={row.recipient_key for row in rows.values()},
            )
        prepared = []
        for group in mail_groups([rows[message_id] for message_id in message_ids]):
            try:
                if len(group) == 1:
                    row = group[0]
                    mail = self.build(row, steps.get(row.instance_id), neighbours, session, now)
                else:
                    mail = self.build_combined(group, steps, neighbours, session, now)
                prepared.append(Prepared(group, mail))
            except Exception as exc:  # one broken message must not hold up the others
                log.exception("meddelande %s (%s) kunde inte skapas", group[0].id, group[0].key)
                prepared.append(Prepared(group, error=f"kunde inte skapas: {type(exc).__name__}: {exc}"))
        return prepared

    def _events(self, row: OutboxMessage, step: StepInstance | None, today: dt.date):
        if step is None:
            return []
        owner = self.directory.name(step.owner) if step.owner else "–"
        return events_for(row, step, url=self.step_url(step, row, "kalender"), today=today, owner_name=owner)

    def build(
        self, row: OutboxMessage, step: StepInstance | None, neighbours: Neighbours, session: Session, now: dt.datetime
    ) -> OutboxMail:
        """One message: its facts, rendered, as a mail."""
        today = self.org.calendar.local_date(now)
        return outbox_mail(
            render(self.facts(row, step, neighbours, session, now)),
            key=row.key,
            message_id=row.message_id,
            recipient=row.recipient,
            sender=self.sender,
            recipient_name="Revisorerna" if row.kind == n.CHECKPOINT else self.directory.name(row.recipient_key),
            events=self._events(row, step, today),
            checkpoint_line=(row.context or {}).get("line") if row.kind == n.CHECKPOINT else None,
            organisation=self.org,
            now=now,
        )

    def build_combined(
        self,
        rows: list[OutboxMessage],
        steps: dict[int, StepInstance],
        neighbours: Neighbours,
        session: Session,
        now: dt.datetime,
    ) -> OutboxMail:
        """One person's scheduled rows as one mail: each step once, at its most urgent
        notice, most urgent first; the digest's lists and news below them."""
        today = self.org.calendar.local_date(now)
        first = rows[0]
        digest = next((row for row in rows if row.kind == n.DIGEST), None)
        notices = sorted(
            (row for row in rows if row.kind != n.DIGEST),
            key=lambda row: (
                n.URGENCY[row.kind],
                steps[row.instance_id].due,
                -(row.context or {}).get("working_days_late", 0),
                row.id,
            ),
        )
        items, events, seen = [], [], set()
        for row in notices:
            step = steps[row.instance_id]
            if step.id in seen:
                continue
            seen.add(step.id)
            context = row.context or {}
            items.append(
                DueItem(
                    kind=row.kind,
                    step=self.step_facts(step, neighbours, today, row),
                    working_days_left=context.get("working_days_left"),
                    working_days_late=context.get("working_days_late"),
                )
            )
            events += self._events(row, step, today)
        base = self.facts(digest, None, neighbours, session, now) if digest else None
        keys = [row.key for row in rows]
        if base is not None and not items:  # digests only (one held back by a retry)
            facts = base
        else:
            facts = self._combined_facts(rows, items, base, today)
        # One row, or rows a claim composed: the Message-ID they carry; else one for all.
        carried = {row.message_id for row in rows}
        message_id = carried.pop() if len(carried) == 1 else n.combined_message_id(keys, self.mail_domain(first))
        return outbox_mail(
            render(facts),
            key="+".join(sorted(keys)),
            message_id=message_id,
            recipient=first.recipient,
            keys=keys,
            sender=self.sender,
            recipient_name=self.directory.name(first.recipient_key),
            events=events,
            organisation=self.org,
            now=now,
        )

    def _combined_facts(
        self, rows: list[OutboxMessage], items: list[DueItem], base: MessageFacts | None, today: dt.date
    ) -> MessageFacts:
        first = rows[0]
        return MessageFacts(
            kind="combined",
            step=None,
            recipient_name=self.directory.name(first.recipient_key),
            organisation_name=self.org.info.name,
            on_behalf_of_name=next((self.directory.name(row.on_behalf_of) for row in rows if row.on_behalf_of), None),
            today=today,
            ui_url=self.ui_url,
            mine_url=self.personal_url(first),
            due_items=tuple(items),
            has_digest=base is not None,
            digest_daily=base.digest_daily if base else False,
            digest_open=base.digest_open if base else (),
            digest_coming=base.digest_coming if base else (),
            digest_to_decide=base.digest_to_decide if base else (),
            digest_news=base.digest_news if base else (),
        )

    @staticmethod
    def mail_domain(row: OutboxMessage) -> str:
        """The domain the rows' Message-IDs were made with (at enqueue)."""
        return row.message_id.rstrip(">").rsplit("@", 1)[1]
