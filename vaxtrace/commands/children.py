"""``vaxtrace children``: the province's registered children (immunization role): the
duplicate pass, the due lists, their forecasts and the reminder job."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Annotated

import typer

from vaxtrace.commands.common import DataDir, console, fail, settings_of, staff_service

children_app = typer.Typer(
    help="The province's registered children, 受种者 (immunization role).", no_args_is_help=True
)


@children_app.command("duplicates")
def children_duplicates(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """查重: every pair of active children that may be one child (name by its fuzzy pinyin and
    characters, birth date, sex, guardian phone; the same resident id), best first. Nothing
    is merged: a site's staff merge with POST /children/{id}/merges."""
    svc = staff_service("immunization", data_dir)
    try:
        pairs = svc.child_duplicates()
    finally:
        svc.close()
    if as_json:
        sys.stdout.write(json.dumps({"pairs": pairs}, ensure_ascii=False, indent=2) + "\n")
        return
    if not pairs:
        console.print("no duplicate candidates")
        return
    console.print(f"{len(pairs)} candidate pair(s):")
    for pair in pairs:
        first, second = pair["children"]
        console.print(
            f"  {pair['score']:.2f}  {first['child_id']} {first['name']} {first['birth_date']}"
            f" ({first['site_uscc']})  ~  {second['child_id']} {second['name']}"
            f" {second['birth_date']} ({second['site_uscc']})  [{', '.join(pair['matched'])}]"
        )


@children_app.command("due")
def children_due(
    site: Annotated[str, typer.Option("--site", help="the vaccination site's USCC")],
    first: Annotated[
        str | None, typer.Option("--from", help="first day YYYY-MM-DD (default: this Monday)")
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help="last day YYYY-MM-DD (default: this Sunday)")
    ] = None,
    status: Annotated[str | None, typer.Option("--status", help="due or overdue only")] = None,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """应种/逾期名单: a site's children due or overdue for a dose in a window (default this
    week), with the guardians' phones: what GET /children/due answers the site's staff."""
    from vaxtrace.core.errors import DomainError
    from vaxtrace.roles.immunization.service import due

    try:
        days = [None if d is None else date.fromisoformat(d) for d in (first, last)]
    except ValueError as exc:
        raise fail(f"not a date YYYY-MM-DD: {exc}") from exc
    svc = staff_service("immunization", data_dir)
    try:  # every page
        listed = due.due_list(
            svc.engine, site, svc.today(), days[0], days[1], status, limit=due.MAX_PAGE
        )
        while listed["next"] is not None:
            page = due.due_list(
                svc.engine,
                site,
                svc.today(),
                days[0],
                days[1],
                status,
                after=listed["next"],
                limit=due.MAX_PAGE,
            )
            listed["items"] += page["items"]
            listed["next"] = page["next"]
        listed["count"] = len(listed["items"])
    except DomainError as exc:
        raise fail(f"{exc.reason}: {exc.message}") from exc
    finally:
        svc.close()
    if as_json:
        sys.stdout.write(json.dumps(listed, ensure_ascii=False, indent=2) + "\n")
        return
    console.print(
        f"{site} {listed['from']} – {listed['to']}: {listed['count']} dose(s) due, "
        f"{listed['children']} child(ren)"
    )
    for item in listed["items"]:
        phones = ", ".join(f"{g['name']} {g['phone']}" for g in item["guardians"])
        console.print(
            f"  {item['status']:<8} {item['recommended']}  {item['vaccine']} #{item['dose']}  "
            f"{item['name']} ({item['child_id']})  {phones}"
        )


@children_app.command("forecast")
def children_forecast(
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="recompute every active child's forecasts")
    ] = False,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """The forecast table the due lists read: --rebuild recomputes it whole (after a change
    of the schedule data, or when a new edition takes effect); each write keeps it otherwise."""
    from vaxtrace.roles.immunization.service import due

    if not rebuild:
        raise fail("nothing to do: give --rebuild")
    svc = staff_service("immunization", data_dir)
    try:
        done = due.rebuild(svc.engine, svc.today())
    finally:
        svc.close()
    if as_json:
        sys.stdout.write(json.dumps(done, indent=2) + "\n")
        return
    console.print(
        f"{done['forecasts']} forecast(s) of {done['children']} child(ren), edition "
        f"{done['edition']}, in {done['seconds']} s ({done['dropped']} stale dropped)"
    )


@children_app.command("remind")
def children_remind(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list what would be sent; send nothing")
    ] = False,
    days: Annotated[
        int, typer.Option("--days", min=0, max=60, help="doses recommended up to N days on")
    ] = 7,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """接种提醒: send each guardian (not opted out) of a child due or overdue a reminder on
    every configured channel (VAXTRACE_SMTP_HOST…, VAXTRACE_NOTIFY_WEBHOOK_URL), each reminder
    once; failures are kept and retried by the next run (exit 1 when any failed)."""
    from vaxtrace.notify import configured
    from vaxtrace.roles.immunization.service import reminders

    settings = settings_of(data_dir)
    notifiers = configured(settings)
    if not notifiers:
        raise fail("no notifier: set VAXTRACE_SMTP_HOST or VAXTRACE_NOTIFY_WEBHOOK_URL")
    svc = staff_service("immunization", data_dir)
    try:
        report = reminders.run(
            svc.engine,
            notifiers,
            svc.clock.now,
            base_url=settings.public_base_url,
            days_ahead=days,
            dry_run=dry_run,
        )
    finally:
        svc.close()
        for notifier in notifiers:
            notifier.close()
    if as_json:
        sys.stdout.write(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    else:
        verb = "would send" if dry_run else "sent"
        count = report["messages"] if dry_run else report["sent"]
        console.print(
            f"{verb} {count} reminder(s) on {', '.join(report['channels'])}; "
            f"failed {report['failed']}, taken by another run {report['taken']}, "
            f"opted out {report['opted_out']}"
        )
        for failed in report["failures"]:
            console.print(f"  failed {failed['child_id']} {failed['channel']}: {failed['error']}")
    if report["failed"]:
        raise typer.Exit(1)
