"""The Swedish wording of reconciliation: what the audit entry, the run's state message
and the regionstab's artifact say about each healing."""

from __future__ import annotations

HEAL_TEXT = {
    "crashed": "körningen stod kvar som pågående fast processen som körde den var borta; "
    "markerad som kraschad och startad om från appens läge",
    "ended_early": "körningen hade avslutats ({run}) fast steget inte är klart; startad om från appens läge",
    "failed": "körningen hade misslyckats fast steget inte är klart; startad om från appens läge",
    "finish": "steget är klart men körningen väntade fortfarande; startad om så att den avslutas",
    "form_lost": "körningen väntade på ett formulär som Prefect saknade (processen dog innan det sparades), "
    "så ingen kunde svara; startad om så att den frågar igen",
    "input_recorded": "ett svar som Prefect hade tagit emot men appen inte registrerat har prövats och registrerats",
}

CRASHED_MESSAGE = "Processen som körde steget finns inte längre (avstämning): körningen startas om."
ZOMBIE_MESSAGE = "Inga hjärtslag från körningen: processen antas vara borta (markerad av Prefects automation)."
RESCHEDULED_MESSAGE = "Omstartad av avstämningen: steget tas upp från appens läge."


def heal_text(heal: str, run_state: str) -> str:
    return HEAL_TEXT[heal].format(run=run_state.lower())
