"""CLI commands: `ldnkit plan` (titration plan and its exports) and `ldnkit liquid`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from ldnkit.cli.app import app
from ldnkit.cli.render import (
    JSON_OPTION_HELP,
    console,
    date_option,
    emit,
    parse_model,
)
from ldnkit.domain.formulation import (
    CapsuleCount,
    CapsuleSupply,
    LiquidRequest,
    LiquidResult,
    capsules,
    make_liquid,
)
from ldnkit.domain.plan_gate import Override, StartCheck
from ldnkit.domain.profile import PatientProfile
from ldnkit.domain.titration import (
    Plan,
    PlanRequest,
    build_plan,
    hold_for_procedure,
    move_to_morning,
    step_back,
)
from ldnkit.export.calendar import plan_to_ics
from ldnkit.export.printable import plan_to_text, screen_lines
from ldnkit.jsoninput import read_json_file
from ldnkit.knowledge.limits import limits
from ldnkit.knowledge.protocols import protocol_book
from ldnkit.validation import InputError, Problem

# Domain errors name model fields; on the command line the user typed options.
_OPTION_NAMES = {
    "protocol": "--protocol",
    "start": "--start",
    "start_dose_mg": "--start-dose",
    "step_mg": "--step",
    "interval_days": "--interval-days",
    "target_mg": "--target",
    "time": "--time",
    "intolerable_on": "--step-back",
    "from_day": "--morning-from",
    "procedure_date": "--procedure",
    "opioids_stop": "--opioids-stop",
    "hold_days": "--hold-days",
    "days": "--capsules-days",
    "tablet_mg": "--tablet-mg",
    "volume_ml": "--volume-ml",
    "dose_mg": "--dose-mg",
    "recipe": "--recipe",
    "made_on": "--made-on",
    "override_reason": "--override-reason",
}


@contextmanager
def _as_options() -> Iterator[None]:
    """Re-raise input errors with the command-line option names the user typed."""
    try:
        yield
    except InputError as exc:
        raise InputError(
            Problem(_OPTION_NAMES.get(p.field, p.field), p.received, p.expected)
            for p in exc.problems
        ) from None


# Options arrive as text and are validated by the domain models, so that every bad value (a
# misspelled protocol, "abc" for a dose, 2026-13-01) is one "--option: got ...; expected ..."
# line with exit code 2, like any other input error.
_Text = str | None


def _whole(option: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise InputError.single(option, value, "a whole number") from None


def _apply(plan: Plan, day: dt.date | None, change: Callable[[Plan, dt.date], Plan]) -> Plan:
    return change(plan, day) if day else plan


# Help texts state the numbers the plans decide with, as the knowledge base has them.
_PROTOCOLS = ", ".join(
    f"{p.id} ({p.start_dose_mg:g} mg, +{p.step_mg:g} mg every {p.interval_days} days)"
    for p in protocol_book().protocols
    if p.id != "custom"
)
_BAND = limits().ldn_dose
_ABOVE = f"above {_BAND.usual_max.mg:g} mg (never above {_BAND.hard_max.mg:g} mg)"
_STANDARD_TABLET_MG = _BAND.standard.mg
_STEP_BACK_DAYS = protocol_book().adjustments.step_back.days


@app.command("plan")
def plan_command(
    protocol: Annotated[
        _Text,
        typer.Option(help=f"{_PROTOCOLS} or custom. Required."),
    ] = None,
    start: Annotated[
        _Text, typer.Option(help="First day of the plan, YYYY-MM-DD. Required.")
    ] = None,
    start_dose: Annotated[
        _Text,
        typer.Option(
            help=f"custom: starting dose in mg (a multiple of {_BAND.dose_multiple.mg:g})."
        ),
    ] = None,
    step: Annotated[_Text, typer.Option(help="custom: increase per step in mg.")] = None,
    interval_days: Annotated[_Text, typer.Option(help="custom: days per step.")] = None,
    target: Annotated[_Text, typer.Option(help="custom: target dose in mg.")] = None,
    time: Annotated[
        _Text, typer.Option(help="bedtime (default) or morning: when the dose is taken.")
    ] = None,
    allow_above_5mg: Annotated[
        bool,
        typer.Option("--allow-above-5mg", help=f"Allow a target {_ABOVE}."),
    ] = False,
    morning_from: Annotated[
        _Text, typer.Option(help="Adjust: take the doses in the morning from this day.")
    ] = None,
    step_back_on: Annotated[
        _Text,
        typer.Option(
            "--step-back",
            help="Adjust: the step was not tolerated on this day; go back for "
            f"{_STEP_BACK_DAYS} days, retry.",
        ),
    ] = None,
    procedure: Annotated[
        _Text, typer.Option(help="Adjust: a procedure with opioids expected on this day.")
    ] = None,
    opioids_stop: Annotated[
        _Text, typer.Option(help="Last day of opioids after the procedure (sets the restart).")
    ] = None,
    hold_days: Annotated[
        _Text, typer.Option(help="Days from the last dose to the procedure (default 3, min 2).")
    ] = None,
    capsules_days: Annotated[
        _Text, typer.Option(help="Also count the capsules for the first N days.")
    ] = None,
    ics: Annotated[
        Path | None, typer.Option(help="Write the plan to this iCalendar file of reminders.")
    ] = None,
    printable: Annotated[
        bool, typer.Option("--print", help="Print the plan as printable text.")
    ] = False,
    patient_label: Annotated[
        _Text, typer.Option(help="Name shown on the calendar and the printout.")
    ] = None,
    profile: Annotated[
        Path | None,
        typer.Option(
            help="The patient's profile as JSON (as for `ldnkit screen`): the plan's start is "
            "checked against its safety screen, and refused when the screen does not allow it."
        ),
    ] = None,
    override_reason: Annotated[
        _Text,
        typer.Option(
            help="With --profile: the prescriber's reason for starting against the safety "
            "screen (1 to 1000 characters); printed on the plan."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    """Build a titration plan: dated steps of dose and time, with optional adjustments.

    Each step runs from its start to its end date inclusive; the last step has no end.
    Adjustments are applied in this order: --step-back, --morning-from, --procedure.
    With --profile the start must be one the patient's safety screen allows: not for a
    contraindicated patient, not before the earliest start, unless --override-reason is given.
    """
    if as_json and printable:
        raise InputError.single("--print", "--print with --json", "one of --json and --print")
    if override_reason is not None and profile is None:
        raise InputError.single(
            "--override-reason",
            override_reason,
            "a --profile beside it (an override needs the screen it overrides)",
        )
    # Read before the plan options, and outside _as_options: its fields are the profile's own.
    patient = parse_model(PatientProfile, read_json_file(profile, "--profile")) if profile else None
    with _as_options():
        given = {
            "protocol": protocol,
            "start": start,
            "start_dose_mg": start_dose,
            "step_mg": step,
            "interval_days": interval_days,
            "target_mg": target,
            "time": time,
            "allow_above_5mg": allow_above_5mg,
        }
        # An option left out is missing, not null: "a value (this field is required)".
        request = parse_model(PlanRequest, {k: v for k, v in given.items() if v is not None})
        procedure_day = date_option("--procedure", procedure)
        stop_day, hold = (
            date_option("--opioids-stop", opioids_stop),
            _whole("--hold-days", hold_days),
        )
        if (stop_day or hold is not None) and not procedure_day:
            raise InputError.single(
                "--procedure", None, "a procedure date when --opioids-stop or --hold-days is given"
            )
        check, override = None, None
        if patient is None:
            plan = build_plan(request)
        else:
            # Imported here: the plan service brings the store, which --help need not wait for.
            from ldnkit.services.plans import PlanRefused, check_plan

            try:
                checked = check_plan(patient, request, override_reason)
            except PlanRefused as exc:
                raise InputError([exc.check.problem("--start", "--override-reason")]) from None
            plan, check, override = checked.plan, checked.decision.check, checked.decision.override
        plan = _apply(plan, date_option("--step-back", step_back_on), step_back)
        plan = _apply(plan, date_option("--morning-from", morning_from), move_to_morning)
        if procedure_day:
            plan = hold_for_procedure(plan, procedure_day, stop_day, hold)
        supply_days = _whole("--capsules-days", capsules_days)
        supply = capsules(plan, supply_days) if supply_days is not None else None
    if ics:
        ics.write_bytes(plan_to_ics(plan, patient_label).encode("utf-8"))
    if printable:
        print(plan_to_text(plan, patient_label, check, override), end="")
        return
    data = plan.contract()
    if check is not None:
        data["screen"] = check.model_dump(mode="json")
        data["override"] = override.model_dump(mode="json") if override else None
    if supply:
        data["capsules"] = supply.model_dump(mode="json")
    if ics:
        data["ics_file"] = str(ics)
    emit(data, as_json, lambda: _show_plan(plan, supply, ics, check, override))


def _mg(value: float) -> str:
    return f"{value:g} mg"


def _show_plan(
    plan: Plan,
    supply: CapsuleSupply | None,
    ics: Path | None,
    check: StartCheck | None,
    override: Override | None,
) -> None:
    if check is not None:
        for line in screen_lines(check, override):
            console.print(Text(line, "bold" if override else ""))
    table = Table(title=f"LDN titration plan: {plan.protocol} (target {_mg(plan.target_mg)})")
    for column in ("From", "To", "Dose", "When", "Note"):
        table.add_column(column)
    for s in plan.steps:
        end = s.end.isoformat() if s.end else "ongoing"
        table.add_row(s.start.isoformat(), end, _mg(s.dose_mg), s.time, s.note or "")
    console.print(table)
    console.print("Steps run from start to end date inclusive.")
    for a in plan.adjustments:
        console.print(Text(f"{a.on} {a.kind}: {a.message} [{', '.join(a.sources)}]"))
    if supply:
        _show_capsules(supply)
    console.print(Text("Sources: " + ", ".join(plan.sources)))
    if ics:
        console.print(Text(f"Calendar written to {ics}"))


def _counts(counts: tuple[CapsuleCount, ...]) -> str:
    return " + ".join(f"{c.count} x {_mg(c.strength_mg)}" for c in counts)


def _show_capsules(supply: CapsuleSupply) -> None:
    table = Table(title=f"Capsules for {supply.days} days ({supply.start} to {supply.end})")
    for column in ("From", "To", "Days", "Dose", "Per dose", "Capsules"):
        table.add_column(column)
    for s in supply.steps:
        table.add_row(
            s.start.isoformat(),
            s.end.isoformat(),
            str(s.days),
            _mg(s.dose_mg),
            _counts(s.per_dose),
            _counts(s.capsules),
        )
    console.print(table)
    console.print(Text("Total: " + _counts(supply.totals)))
    for note in supply.notes:
        console.print(Text(f"- {note.text} [{', '.join(note.sources)}]"))


@app.command("liquid")
def liquid_command(
    dose_mg: Annotated[_Text, typer.Option(help="Dose to measure, in mg. Required.")] = None,
    volume_ml: Annotated[
        _Text, typer.Option(help="Total volume the tablet is dissolved in, in mL. Required.")
    ] = None,
    tablet_mg: Annotated[
        _Text, typer.Option(help=f"Tablet strength in mg (default {_STANDARD_TABLET_MG:g}).")
    ] = None,
    recipe: Annotated[
        _Text,
        typer.Option(help="water (home dilution, no stability data; default) or fawcett."),
    ] = None,
    made_on: Annotated[
        _Text, typer.Option(help="Day the liquid is made, YYYY-MM-DD (default today).")
    ] = None,
    allow_above_5mg: Annotated[
        bool,
        typer.Option("--allow-above-5mg", help=f"Allow a dose {_ABOVE}."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help=JSON_OPTION_HELP)] = False,
) -> None:
    """Liquid LDN from a tablet: concentration, mL per dose, days per tablet, beyond-use date."""
    with _as_options():
        given = {
            "tablet_mg": tablet_mg or _STANDARD_TABLET_MG,
            "volume_ml": volume_ml,
            "dose_mg": dose_mg,
            "recipe": recipe or "water",
            "made_on": made_on or dt.date.today(),
            "allow_above_5mg": allow_above_5mg,
        }
        request = parse_model(LiquidRequest, {k: v for k, v in given.items() if v is not None})
        result = make_liquid(request)
    emit(result, as_json, lambda: _show_liquid(result))


def _show_liquid(r: LiquidResult) -> None:
    console.print(Text(f"{r.recipe_name}: {_mg(r.tablet_mg)} in {r.volume_ml:g} mL", "bold"))
    console.print(Text(r.recipe_text))
    table = Table(show_header=False)
    table.add_column()
    table.add_column()
    table.add_row("Concentration", f"{r.concentration_mg_per_ml:g} mg/mL")
    table.add_row("Each dose", f"{r.dose_ml:g} mL for {_mg(r.dose_mg)}")
    table.add_row("One tablet lasts", f"{r.days_per_tablet:g} days ({r.doses_per_tablet} doses)")
    table.add_row("Container", r.container)
    for b in r.beyond_use:
        table.add_row(f"Use by ({b.label})", f"{b.date} ({b.days} days, {b.usable_doses} doses)")
    console.print(table)
    if not r.stability_data:
        console.print(Text("No stability data for this recipe.", "bold"))
    for warning in r.warnings:
        console.print(Text(f"- {warning}"))
    console.print(Text("Sources: " + ", ".join(r.sources)))
