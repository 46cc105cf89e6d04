"""The ``vaxtrace`` command line: demo, serve, trace, dose-check, import, and the groups db,
org, token, ledger, pki, platform, exchange, stock, schedule, children, school-entry, alerts.
This is the root app; the commands live in ``vaxtrace/commands``, one module per group.
``python -m vaxtrace.cli`` runs it."""

from __future__ import annotations

import typer

from vaxtrace.commands.admin import db_app, org_app, token_app
from vaxtrace.commands.alerts import alerts_app
from vaxtrace.commands.children import children_app
from vaxtrace.commands.codes import dose_check, import_relations, trace
from vaxtrace.commands.demo import demo
from vaxtrace.commands.exchange import exchange_app
from vaxtrace.commands.ledger import ledger_app
from vaxtrace.commands.pki import pki_app
from vaxtrace.commands.platform import platform_app
from vaxtrace.commands.schedule import schedule_app
from vaxtrace.commands.school_entry import school_entry_app
from vaxtrace.commands.serve import serve
from vaxtrace.commands.stock import stock_app
from vaxtrace.commands.validate import validate

app = typer.Typer(
    help="VaxTrace: vaccine information traceability (疫苗信息化追溯体系).", no_args_is_help=True
)
app.command()(demo)
app.command()(serve)
app.command()(trace)
app.command("dose-check")(dose_check)
app.command("import")(import_relations)
app.command()(validate)
app.add_typer(db_app, name="db")
app.add_typer(org_app, name="org")
app.add_typer(token_app, name="token")
app.add_typer(ledger_app, name="ledger")
app.add_typer(pki_app, name="pki")
app.add_typer(platform_app, name="platform")
app.add_typer(exchange_app, name="exchange")
app.add_typer(stock_app, name="stock")
app.add_typer(schedule_app, name="schedule")
app.add_typer(children_app, name="children")
app.add_typer(school_entry_app, name="school-entry")
app.add_typer(alerts_app, name="alerts")

if __name__ == "__main__":
    app()
