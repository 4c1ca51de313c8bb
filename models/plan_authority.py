"""Who may change the plan of a running cycle: the holders of the roles the
organisation's data names for it (organisation.yaml: `permissions.change_plan`, e.g. the
regionstab's coordinator), seen from the unit of each step changed. The audit records
the role actually held, never a role the command assumes."""

from __future__ import annotations

from collections.abc import Iterable

from models.organisation import Organisation
from models.people import Directory, Member
from models.steps import StepActionError


def plan_role(org: Organisation, person_key: str, unit: str | None) -> str | None:
    """The first `change_plan` role `person_key` holds for `unit` (None: for the whole
    organisation, i.e. its root), or None."""
    permissions = org.source.permissions
    if permissions is None:
        return None
    anchor = org.target(unit).anchor if unit in org.units or unit in org.bodies else org.root
    for role in permissions.change_plan:
        if role in org.roles and org.role_holder(role, anchor) == person_key:
            return role
    return None


def require_plan_role(org: Organisation, person: Member, units: Iterable[str | None], what: str) -> str:
    """The role that lets `person` do `what` for every unit, or a Swedish refusal. A
    change over units where the person holds different roles names each of them, in
    the order of the units (the audit's `actor_role`)."""
    permissions = org.source.permissions
    if permissions is None:
        raise StepActionError(
            f"ingen får {what}: organisationen anger ingen roll för det (organisation.yaml: permissions.change_plan)"
        )
    roles = []
    for unit in dict.fromkeys(units) or {None: None}:
        role = plan_role(org, person.key, unit)
        if role is None:
            names = " eller ".join(org.roles[r].name for r in permissions.change_plan if r in org.roles)
            where = f" för {org.target(unit).name}" if unit in org.units or unit in org.bodies else ""
            raise StepActionError(f"{person.name} får inte {what}{where}: det kräver rollen {names}")
        roles.append(role)
    return _listed_roles(list(dict.fromkeys(roles)))


ACTOR_ROLE_LENGTH = 80  # the audit's actor_role column


def _listed_roles(roles: list[str]) -> str:
    """The roles, comma-separated; as many whole ones as the audit's column holds, then "…"."""
    shown = ", ".join(roles)
    while len(shown) > ACTOR_ROLE_LENGTH:
        roles = roles[:-1]
        shown = ", ".join(roles) + ", …"
    return shown


def acting_person(directory: Directory, actor_email: str) -> Member:
    person = directory.by_email(actor_email or "")
    if person is None:
        raise StepActionError(f"okänd e-postadress '{actor_email}' (ange din adress i organisationen med --as)")
    return person
