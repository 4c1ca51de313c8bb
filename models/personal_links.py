"""A person's signed links as the app database keeps them: the generation that revoking
raises, fresh links mailed to the person's address in the organisation (never to an
address someone typed), and refused link attempts counted per client address."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, func, select

from models import notices as n
from models.audit import append_audit
from models.people import Directory
from models.tables import LinkFailure, LinkHolder, Mode, OutboxMessage

# Fresh links a person may ask for within an hour: enough for a mistake or two, too few
# to fill their inbox.
NEW_LINKS_PER_HOUR = 3


def holder(*, session: Session, organisation: str, person: str, lock: bool = False) -> LinkHolder:
    query = select(LinkHolder).where(LinkHolder.organisation == organisation, LinkHolder.person_key == person)
    if lock:
        query = query.with_for_update()
    row = session.exec(query).first()
    if row is None:
        row = LinkHolder(organisation=organisation, person_key=person, generation=0)
        session.add(row)
        session.flush()
    return row


def generation(*, session: Session, organisation: str, person: str) -> int:
    row = session.exec(
        select(LinkHolder.generation).where(LinkHolder.organisation == organisation, LinkHolder.person_key == person)
    ).first()
    return row or 0


def revoke_links(
    *, session: Session, organisation: str, person: str, now: dt.datetime, origin: dict | None = None
) -> int:
    """Every link made for `person` so far stops working; returns the new generation."""
    row = holder(session=session, organisation=organisation, person=person, lock=True)
    row.generation += 1
    row.revoked_at = now
    session.add(row)
    append_audit(
        session=session,
        at=now,
        actor=person,
        action="links.revoked",
        source="länk",
        after={"generation": row.generation},
        origin=origin,
    )
    session.flush()
    return row.generation


def recent_new_links(*, session: Session, person: str, now: dt.datetime) -> int:
    return session.exec(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.kind == n.NEW_LINK,
            OutboxMessage.recipient_key == person,
            OutboxMessage.created_at > now - dt.timedelta(hours=1),
        )
    ).one()


def send_new_links(
    *,
    session: Session,
    directory: Directory,
    person: str,
    now: dt.datetime,
    reason: str,
    mail_domain: str,
    instance_id: int | None = None,
    cycle_id: int | None = None,
    mode: Mode = Mode.live,
) -> bool:
    """Mail `person`, at their address in the organisation, a fresh "Mina steg" link (and
    the step's link, if one is named). False when they have asked too often lately."""
    if person not in directory:
        return False
    if reason != "revoked" and recent_new_links(session=session, person=person, now=now) >= NEW_LINKS_PER_HOUR:
        return False
    stage = f"{now.strftime('%Y%m%dT%H%M%S%f')}"
    notice = n.Notice(
        kind=n.NEW_LINK,
        stage=stage,
        recipient_key=person,
        send_at=now,
        instance_id=instance_id,
        cycle_id=cycle_id,
        context={"reason": reason},
    )
    n.enqueue([notice], session=session, directory=directory, now=now, mail_domain=mail_domain, mode=mode)
    return True


def record_failure(*, session: Session, client: str, now: dt.datetime) -> None:
    session.add(LinkFailure(client=client[:64], at=now))
    session.flush()


def recent_failures(*, session: Session, client: str, since: dt.datetime) -> int:
    return session.exec(
        select(func.count())
        .select_from(LinkFailure)
        .where(LinkFailure.client == client[:64], col(LinkFailure.at) > since)
    ).one()
