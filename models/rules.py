"""Resolving the rules of a plan year: when a recurring step occurs, which instance of
another step a reference means, and the date an `opens` or `due` rule gives (a date, a
meeting, another step, the occurrence, an external calendar's milestone), with the
meeting that decides it. The base of `models.planning.CyclePlanner`."""

from __future__ import annotations

import datetime as dt

from apscheduler.triggers.cron import CronTrigger

from models.definition import Definition
from models.organisation import SELF_BODY, Organisation, Target
from models.planned import PlannedStep
from models.schema import Rule, StepTemplate
from models.source import FieldPath
from models.swedish import month_name
from models.workdays import WorkingCalendar


class RuleError(Exception):
    def __init__(self, field_path: FieldPath, message: str, *, missing_year: int | None = None):
        self.field_path = field_path
        self.missing_year = missing_year  # the year whose meetings file the rule needed
        super().__init__(message)


class RuleResolver:
    """Resolves the rules of one plan year (the base of `models.planning.CyclePlanner`)."""

    definition: Definition
    org: Organisation
    calendar: WorkingCalendar
    year: int
    by_template: dict[str, dict[str, list[PlannedStep]]]
    tentative: bool = False  # set while resolving an instance that uses a tentative meeting

    # -- occurrences -----------------------------------------------------------------

    def occurrences(self, template: StepTemplate) -> list[tuple[str | None, dt.date | None]]:
        recurrence = template.recurrence
        if recurrence is None:
            return [(None, None)]
        year = self.year + recurrence.year
        if recurrence.meetings is not None:
            self._require_meetings(year, ("recurrence", "meetings"))
            meeting_days = [
                m.date for m in self.definition.meeting_dates.get(recurrence.meetings, []) if m.date.year == year
            ]
            return [(day.isoformat(), day) for day in meeting_days]
        cron = recurrence.cron
        assert cron is not None  # the schema asks for cron or meetings
        trigger = CronTrigger(
            month=cron.month,
            day=cron.day,
            day_of_week=cron.day_of_week,
            timezone="UTC",
            start_date=dt.datetime(year, 1, 1, tzinfo=dt.UTC),
            end_date=dt.datetime(year, 12, 31, 23, 59, tzinfo=dt.UTC),
        )
        dates: list[dt.date] = []
        previous = None
        now = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
        while (fire := trigger.get_next_fire_time(previous, now)) is not None:
            dates.append(fire.date())
            previous = now = fire + dt.timedelta(seconds=1)
        monthly = len({(d.year, d.month) for d in dates}) == len(dates)
        return [(d.strftime("%Y-%m") if monthly else d.isoformat(), d) for d in dates]

    def in_this_cycle(self, template: StepTemplate) -> bool:
        """Whether a template that recurs over the years (`cycles`) belongs to this one."""
        cycles = template.cycles
        if cycles is None:
            return True
        if cycles.every is not None:
            assert cycles.start is not None  # the schema asks for both
            return self.year >= cycles.start and (self.year - cycles.start) % cycles.every == 0
        period = next((p for p in self.org.source.mandate_periods if p.start <= self.year <= p.end), None)
        if period is None:
            raise RuleError(
                ("cycles", "mandate_period"),
                f"ingen mandatperiod i organisation.yaml (mandate_periods) omfattar {self.year}",
            )
        position = {"first": period.start, "second": period.start + 1, "third": period.start + 2}
        return self.year == position.get(cycles.mandate_period or "", period.end)

    def note_meeting(self, day: dt.date) -> dt.date:
        """A meeting the plan uses; one from a year without a decided plan is tentative."""
        if day.year not in self.definition.meetings:
            self.tentative = True
        return day

    def _require_meetings(self, year: int, field_path: FieldPath) -> None:
        if year in self.definition.tentative_years:
            self.tentative = True
        elif year not in self.definition.meetings:
            raise RuleError(
                field_path,
                f"sammanträdesplanen för {year} saknas ({self.definition.meetings_file_name(year)})",
                missing_year=year,
            )

    # -- references to other steps ---------------------------------------------------

    def related(self, template_key: str, target: Target, period: str | None) -> list[PlannedStep]:
        by_target = self.by_template.get(template_key, {})
        dependency_recurs = self.definition.templates[template_key].recurrence is not None

        def matching(found: list[PlannedStep]) -> list[PlannedStep]:
            if period is not None and dependency_recurs:
                same = [step for step in found if step.period == period]
                return same or found
            return found

        if target.key in by_target:
            return matching(by_target[target.key])
        chain = ([target.anchor] if target.is_body else []) + self.org.ancestors(target.anchor)
        for unit in chain:
            if unit in by_target:
                return matching(by_target[unit])
        if not target.is_body:
            below = [step for key in self.org.subtree(target.key)[1:] for step in by_target.get(key, [])]
            if below:
                return matching(below)
            # A body's step, for a unit: the body its förvaltning (or the nearest unit
            # above) administers, not every body's instance.
            for unit in [target.key, *chain]:
                administered = [
                    step for key in self.org.bodies_administered_by(unit) for step in by_target.get(key, [])
                ]
                if administered:
                    return matching(administered)
        return matching([step for steps in by_target.values() for step in steps])

    # -- rules -----------------------------------------------------------------------

    def resolve(
        self,
        rule: Rule,
        name: str,
        target: Target,
        *,
        period: str | None,
        occurrence: dt.date | None,
        recurs_on_meetings: bool = False,
    ) -> tuple[dt.date, dt.date | None, dt.date | None]:
        """(date, nominal date if it was moved off a non-working day, meeting date)."""
        meeting_date = None
        if rule.date is not None:
            day = rule.date.in_cycle(self.year)
        elif rule.meeting is not None:
            body_key = self.body_of(rule.meeting, target, (name, "meeting"))
            if rule.month is not None:
                year, month = rule.month.in_cycle(self.year)
                self._require_meetings(year, (name, "month"))
                candidates = self.definition.meetings_in_month.get((body_key, year, month), [])
                if not candidates:
                    body = self.org.bodies[body_key].name
                    raise RuleError(
                        (name, "month"),
                        f"{body} har inget sammanträde i {month_name(month)} {year} "
                        f"({self.definition.meetings_file_name(year)})",
                    )
                day = candidates[0] if rule.which == "first" else candidates[-1]
            else:
                assert occurrence is not None  # `after: occurrence` is only valid in a recurring step
                candidates = self.definition.meetings_after(body_key, occurrence)
                if not candidates:
                    self._require_meetings(occurrence.year + 1, (name, "after"))
                    body = self.org.bodies[body_key].name
                    raise RuleError((name, "after"), f"{body} har inget sammanträde efter {occurrence}")
                day = candidates[0]
            meeting_date = self.note_meeting(day)
        elif rule.step is not None:
            related = self.related(rule.step, target, period)
            if not related:
                raise RuleError(
                    (name, "step"), f"steget '{rule.step}' har ingen instans att utgå från för {target.name}"
                )
            day = max(step.opens if rule.edge == "opens" else step.due for step in related)
            self.tentative = self.tentative or any(step.tentative for step in related)
        elif rule.milestone is not None:
            day = self.milestone_day(rule, name)
        else:
            assert occurrence is not None  # `occurrence: true` is only valid in a recurring step
            day = occurrence
            if recurs_on_meetings:
                meeting_date = occurrence  # the occurrence is itself a meeting
        if rule.offset:
            result, nominal = self.calendar.add_working_days(day, rule.offset), None
        else:
            direction = rule.roll or ("next" if name == "opens" else "previous")
            result = self.calendar.roll(day, direction)
            nominal = day if result != day else None
        if rule.decided_at is not None:
            meeting_date = self.first_meeting_after(rule.decided_at, result, target, (name, "decided_at"))
        return result, nominal, meeting_date

    def body_of(self, key: str, target: Target, field_path: FieldPath) -> str:
        """A body named in a rule: `self` is the body the step applies to."""
        if key != SELF_BODY:
            return key
        if not target.is_body:
            raise RuleError(field_path, f"'self' kräver att steget gäller ett organ, men {target.name} är en enhet")
        return target.key

    def first_meeting_after(self, body: str, day: dt.date, target: Target, field_path: FieldPath) -> dt.date:
        """The body's first meeting after `day`: where a fixed deadline is decided."""
        body_key = self.body_of(body, target, field_path)
        self._require_meetings(day.year, field_path)
        later = self.definition.meetings_after(body_key, day)
        if not later:
            self._require_meetings(day.year + 1, field_path)
            raise RuleError(field_path, f"{self.org.bodies[body_key].name} har inget sammanträde efter {day}")
        return self.note_meeting(later[0])

    def milestone_day(self, rule: Rule, name: str) -> dt.date:
        """The milestone's event in the plan year (or in `month`), first or last."""
        events = self.definition.milestones.get(rule.milestone or "", [])
        if rule.month is not None:
            year, month = rule.month.in_cycle(self.year)
            days = [m.date for m in events if (m.date.year, m.date.month) == (year, month)]
            when = f"{month_name(month)} {year}"
        else:
            days = [m.date for m in events if m.date.year == self.year]
            when = str(self.year)
        if not days:
            raise RuleError((name, "milestone"), f"milstolpen '{rule.milestone}' har ingen händelse i {when}")
        return days[0] if rule.which == "first" else days[-1]
