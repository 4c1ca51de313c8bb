"""Opening a link: who the token says the person is, whether it still fits, and the audit
of every use (refused ones too), with the token's id and the client address but never
the token. Refused attempts are counted per client address and slowed down.

Checks, in order: too many refused attempts from this address lately; a token we made
(signature, form) and not expired; the right kind of link for the page; the person
still in the organisation and the link not revoked; the step there. Whether the step's
state still matches the link is the page's question (a stale link still shows the
step)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session

from arshjul.core import clock, runtime
from arshjul.core.database import read_only, session_scope
from arshjul.core.links import BadToken, LinkClaims, LinkSigner
from arshjul.core.settings import Settings
from models.audit import append_audit
from models.people import Directory, Member, load_directory
from models.personal_links import generation, recent_failures, record_failure
from models.tables import Cycle, StepInstance

# Why a link is refused: the page's heading, what it says, and what to do next.
REFUSALS = {
    "rate_limited": (
        "För många försök",
        "Det har kommit för många ogiltiga länkar från din anslutning på kort tid.",
        "Vänta en kvart och försök igen, eller öppna länken i ditt senaste mejl från årshjulet.",
    ),
    "forged": (
        "Länken är inte giltig",
        "Länken är inte en länk från årshjulet, eller så har den ändrats (kanske kapades den när den kopierades).",
        "Öppna länken direkt från ditt senaste mejl, eller be om en ny länk nedan.",
    ),
    "expired": (
        "Länken har gått ut",
        "Länkar från årshjulet gäller en begränsad tid, och den här har slutat gälla.",
        "Du kan få en ny länk till din adress i organisationen.",
    ),
    "wrong_page": (
        "Länken hör inte hit",
        "Länken gäller en annan sida i årshjulet än den som öppnades.",
        "Öppna länken direkt från mejlet, eller be om en ny länk nedan.",
    ),
    "revoked": (
        "Länken är spärrad",
        "Alla länkar som skickats till dig före en spärr slutar fungera, och den här är en av dem.",
        "Använd länken i det senaste mejlet, eller få en ny länk till din adress i organisationen.",
    ),
    "unknown_person": (
        "Länken gäller inte längre",
        "Personen som länken gjordes för finns inte längre i organisationens register.",
        "Kontakta regionstaben om du ska ha tillgång till årshjulet.",
    ),
    "unknown_step": (
        "Steget finns inte",
        "Steget som länken gäller finns inte i årshjulet.",
        "Kontakta regionstaben om du saknar ett steg.",
    ),
}


class Refused(Exception):
    """A link that is refused; `claims` is known when the token itself was genuine."""

    def __init__(self, reason: str, claims: LinkClaims | None = None, status: int = 403):
        super().__init__(reason)
        self.reason = reason
        self.claims = claims
        self.status = status


@dataclass
class LinkUse:
    """A link that passed: its claims, the person and (for a step link) the step."""

    claims: LinkClaims
    person: Member
    directory: Directory
    step: StepInstance | None
    cycle: Cycle | None
    client: str
    now: dt.datetime

    def origin(self, **more) -> dict:
        return {"via": "länk", "token": self.claims.token_id, "client": self.client, **more}


class LinkDesk:
    """Checks links and records their use."""

    def __init__(self, settings: Settings, signer: LinkSigner):
        self.settings = settings
        self.signer = signer

    def organisation(self) -> str:
        return runtime.definition().organisation.info.key

    def open(self, token: str, *, client: str, page: str, personal: bool) -> LinkUse:
        """The checked link, or Refused (recorded, audited and counted)."""
        now = clock.now()
        window = now - dt.timedelta(minutes=self.settings.link_failure_window_minutes)
        with Session(read_only(runtime.engine())) as session:
            failures = recent_failures(session=session, client=client, since=window)
        if failures >= self.settings.link_failures_allowed:
            raise self.refuse("rate_limited", None, client=client, page=page, status=429, count=False)
        try:
            claims = self.signer.check(token, now=now)
        except BadToken as bad:
            raise self.refuse(bad.reason, bad.claims, client=client, page=page, status=403) from None
        if claims.personal != personal:
            raise self.refuse("wrong_page", claims, client=client, page=page, status=403)
        organisation = self.organisation()
        step = cycle = None
        with Session(read_only(runtime.engine()), expire_on_commit=False) as session:
            directory = load_directory(session=session, organisation=organisation)
            person = directory.members.get(claims.person)
            current = generation(session=session, organisation=organisation, person=claims.person)
            if claims.instance_id is not None:
                step = session.get(StepInstance, claims.instance_id)
                cycle = session.get(Cycle, step.cycle_id) if step is not None else None
        if person is None:
            raise self.refuse("unknown_person", claims, client=client, page=page, status=403)
        if claims.generation != current:
            raise self.refuse("revoked", claims, client=client, page=page, status=403)
        if claims.instance_id is not None and step is None:
            raise self.refuse("unknown_step", claims, client=client, page=page, status=404)
        return LinkUse(claims, person, directory, step, cycle, client, now)

    def refuse(
        self,
        reason: str,
        claims: LinkClaims | None,
        *,
        client: str,
        page: str,
        status: int,
        count: bool = True,
    ) -> Refused:
        """Record a refused attempt (audit, and the count per client) and return the error."""
        now = clock.now()
        with session_scope(runtime.engine()) as session:
            if count:
                record_failure(session=session, client=client, now=now)
            append_audit(
                session=session,
                at=now,
                actor=claims.person if claims else "okänd",
                action="link.refused",
                source="länk",
                instance_id=claims.instance_id if claims else None,
                comment=REFUSALS[reason][1],
                origin={"via": "länk", "page": page, "reason": reason, "client": client}
                | ({"token": claims.token_id} if claims else {}),
            )
        return Refused(reason, claims, status)

    def record_view(self, use: LinkUse, *, page: str, **more) -> None:
        """A link that was opened and shown (a GET changes nothing but the audit log)."""
        with session_scope(runtime.engine()) as session:
            append_audit(
                session=session,
                at=use.now,
                actor=use.person.key,
                action="link.opened",
                source="länk",
                cycle_id=use.step.cycle_id if use.step else None,
                instance_id=use.step.id if use.step else None,
                origin=use.origin(page=page, **more),
            )

    def record_refused_action(self, use: LinkUse, *, reason: str, page: str) -> None:
        """An action through a genuine link that the rules or the form refused."""
        with session_scope(runtime.engine()) as session:
            append_audit(
                session=session,
                at=clock.now(),
                actor=use.person.key,
                action="link.refused",
                source="länk",
                cycle_id=use.step.cycle_id if use.step else None,
                instance_id=use.step.id if use.step else None,
                comment=reason,
                origin=use.origin(page=page, reason="action_refused"),
            )
