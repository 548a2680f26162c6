"""Command-line groups: `users create`, `seed demo`, `scheduler run`, `calendar import` / `show`,
`stats rebuild`."""

from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import AppGroup

from gridgov.auth.models import ROLES
from gridgov.errors import DomainError
from gridgov.extensions import db

users_cli = AppGroup("users", help="Manage accounts.")
seed_cli = AppGroup("seed", help="Load data.")
scheduler_cli = AppGroup("scheduler", help="Run the scheduler process.")
calendar_cli = AppGroup("calendar", help="The working calendar (days off and 调休 working days).")
stats_cli = AppGroup("stats", help="The daily summary the figures read and the counts the lists read.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@click.option("--area", "areas", multiple=True, help="Area code in the user's scope (repeatable).")
@click.option("--name", "display_name", default="", help="Display name.")
def create_user_command(username, roles, areas, display_name):
    """Create USERNAME; the password comes from GRIDGOV_PASSWORD or a prompt."""
    from gridgov.auth.services import areas_by_codes, create_user

    password = os.environ.get("GRIDGOV_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    db.session.info["actor_id"] = None
    try:
        area_ids = [a.id for a in areas_by_codes(list(areas))]
        user = create_user(username, password, list(roles), area_ids, display_name=display_name)
    except DomainError as exc:
        raise click.ClickException(exc.message.en) from exc
    click.echo(f"created user {user.username} (id {user.id}) with roles {', '.join(user.roles)}")


@seed_cli.command("demo")
@click.option(
    "--history/--no-history", default=True, show_default=True, help="Replay the zone's past three months."
)
def seed_demo_command(history):
    """Load the demo zone and accounts (idempotent) and print the accounts."""
    from gridgov.seeding import seed_demo

    summary = seed_demo(history=history)
    click.echo(
        f"demo zone: {summary['areas']} areas; {summary['markets']} markets with rosters; {summary['issues']} grid issues; "
        f"{summary['wages']} wage cases"
    )
    past = summary["history"]
    if past.get("steps"):
        click.echo(
            f"past three months: {past['issues'] + past['market_issues']} grid issues, {past['patrols']} patrols, "
            f"{past['check_ins']} market check-ins, {past['notifications']} notifications waiting"
        )
    elif past:
        click.echo("past three months: already there, left as they were")
    click.echo(f"demo accounts (password for all: {summary['password']}):")
    for account in summary["users"]:
        click.echo(
            f"  {account['username']:<22} {','.join(account['roles']):<14} {' '.join(account['areas'])}"
        )


@scheduler_cli.command("run")
@click.option("--poll", default=15.0, show_default=True, help="Seconds between leadership checks.")
def scheduler_run_command(poll):
    """Run the scheduler; only one process at a time is the active leader."""
    from gridgov.scheduler.runner import run_forever

    run_forever(current_app._get_current_object(), poll_seconds=poll)


@calendar_cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
def calendar_import_command(file):
    """Enter years from a JSON FILE: {"year", "days_off": [{"date", "name"}], "working_days", "source"} or a list."""
    import json

    from marshmallow import ValidationError

    from gridgov.workcal.schemas import CalendarImportSchema
    from gridgov.workcal.services import entries, set_year

    try:
        data = json.load(file)
        years = CalendarImportSchema(many=True).load(data if isinstance(data, list) else [data])
    except (ValueError, ValidationError) as exc:
        raise click.ClickException(f"{file.name}: {exc}") from exc
    db.session.info["actor_id"] = None
    for body in years:
        try:
            result = set_year(body["year"], entries(body), None, body["source"])
        except DomainError as exc:
            raise click.ClickException(f"{body['year']}: {exc.message.en}") from exc
        click.echo(
            f"{result['year']}: confirmed from {result['source']}: {len(result['days_off'])} days off, "
            f"{len(result['working_days'])} make-up working days; {result['moved_deadlines']} open deadlines moved"
        )


@calendar_cli.command("show")
@click.argument("year", type=int)
def calendar_show_command(year):
    """Print YEAR's days off and make-up working days, and whether it is confirmed or provisional."""
    from gridgov.workcal.services import year_schedule

    try:
        schedule = year_schedule(year)
    except DomainError as exc:
        raise click.ClickException(exc.message.en) from exc
    by = f", by {schedule['updated_by']}" if schedule["updated_by"] else ""
    click.echo(f"{year}: {schedule['status']} (source: {schedule['source']}{by})")
    for label, key in (("days off", "days_off"), ("working days", "working_days")):
        click.echo(f"{label}:")
        for entry in schedule[key]:
            click.echo(f"  {entry['day'].isoformat()} {entry['day']:%a} {entry['name']}")


@stats_cli.command("rebuild")
def stats_rebuild_command():
    """Recount the figures' daily summary and the lists' per-area counts from the issues (one transaction)."""
    from gridgov.issues import counts, summary

    with db.engine.begin() as connection:
        rows, count_rows = summary.rebuild(connection), counts.rebuild(connection)
    click.echo(f"daily figures rebuilt: {rows} summary rows; issue counts: {count_rows} rows")
