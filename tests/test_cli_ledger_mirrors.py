"""A journal role's tables mirror its journal: ``vaxtrace ledger verify --role R`` names a
history row an operator with file access inserted, deleted or altered without its entry (the
demo's data, tampered with as raw SQL would, append-only triggers dropped), on both backends."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import (
    Connection,
    Table,
    create_engine,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from typer.testing import CliRunner

from vaxtrace.cli import app
from vaxtrace.store.append_only import drop_append_only
from vaxtrace.store.immunization.schema import (
    APPEND_ONLY,
    EXPIRY_HISTORY,
    batch,
    expiry_run,
    province_write,
    refusal_alert,
    stock,
)
from vaxtrace.store.immunization.schema import journal as province_journal
from vaxtrace.store.platform.schema import registry_change
from vaxtrace.store.supervision.schema import rule_finding, supervised_step

runner = CliRunner()
JOURNAL_ROLES = ("platform", "immunization", "supervision")

Demo = Callable[[str], str]
"""Run the demo with one role's database on the backend under test; answers its URL."""


@pytest.fixture
def demo(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Demo:
    def run(role: str) -> str:
        url = database_url
        if url.startswith("sqlite"):  # the data directory's own file of the role
            url = f"sqlite:///{tmp_path / f'{role}.sqlite'}"
        else:
            monkeypatch.setenv(f"VAXTRACE_{role.upper()}_DATABASE_URL", url)
        result = runner.invoke(
            app, ["demo", "--no-serve", "--units", "1000", "--data-dir", str(tmp_path)]
        )
        assert result.exit_code == 0, result.output
        return url

    return run


def _verify(role: str, data_dir: Path) -> tuple[int, str]:
    kept = data_dir.parent / f"{data_dir.name}-kept"
    args = ["ledger", "verify", "--role", role, "--data-dir", str(data_dir)]
    args += ["--trusted", str(kept / f"{role}-checkpoint.txt")]
    result = runner.invoke(app, [*args, "--trusted-key", str(kept / f"{role}-key.txt")])
    crashed = "" if isinstance(result.exception, SystemExit | None) else repr(result.exception)
    return result.exit_code, " ".join(f"{result.output} {crashed}".split())


def _tampered(url: str) -> Iterator[Connection]:
    """A connection as an operator with file access has one: triggers off, committed after."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET session_replication_role = replica"))
        drop_append_only(conn, (*APPEND_ONLY, *EXPIRY_HISTORY))
        yield conn
        conn.commit()
    engine.dispose()


@pytest.mark.parametrize("role", JOURNAL_ROLES)
def test_the_untouched_demo_mirrors_its_journal(demo: Demo, role: str, tmp_path: Path) -> None:
    demo(role)
    code, out = _verify(role, tmp_path)
    assert code == 0, out
    assert "ledger ok" in out and "match the journal row for row" in out
    table = {"platform": "registry_change", "immunization": "province_write"}
    assert table.get(role, "supervised_step") in out


def test_an_altered_write_is_named(demo: Demo, tmp_path: Path) -> None:
    url = demo("immunization")
    for conn in _tampered(url):
        first = select(province_write).order_by(province_write.c.org_uscc).limit(1)
        row = conn.execute(first).mappings().one()
        forged = {**row["response"], "document_no": "FORGED"}
        key = (province_write.c.org_uscc == row["org_uscc"]) & (
            province_write.c.client_document_id == row["client_document_id"]
        )
        conn.execute(update(province_write).where(key).values(response=forged))
    code, out = _verify("immunization", tmp_path)
    assert code == 1, out
    assert "the tables differ from the log: immunization province_write" in out
    assert f"client_document_id={row['client_document_id']}" in out
    assert 'in response.document_no: the table says "FORGED"' in out and "altered" in out


@pytest.mark.parametrize("table", [refusal_alert, expiry_run], ids=lambda t: t.name)
def test_a_deleted_history_row_is_named(demo: Demo, tmp_path: Path, table: Table) -> None:
    url = demo("immunization")
    for conn in _tampered(url):
        gone = conn.execute(select(table.c.id).order_by(table.c.id).limit(1)).scalar_one()
        conn.execute(delete(table).where(table.c.id == gone))
    code, out = _verify("immunization", tmp_path)
    assert code == 1, out
    assert f"the tables differ from the log: immunization {table.name}: entry " in out
    assert f"keeps row (id={gone}), which the table no longer holds: deleted" in out


def test_a_registry_change_inserted_on_the_platform_is_named(demo: Demo, tmp_path: Path) -> None:
    url = demo("platform")
    for conn in _tampered(url):
        forged = {"uscc": "91110000FORGED0001", "name": "forged", "kinds": ["mah"]}
        version = conn.execute(
            insert(registry_change)
            .values(kind="organisation", key=forged["uscc"], data=forged, changed_at=_now())
            .returning(registry_change.c.version)
        ).scalar_one()
    code, out = _verify("platform", tmp_path)
    assert code == 1, out
    assert "the tables differ from the log: platform registry_change" in out
    assert f"row (version={version}) has no journal entry: inserted outside the log" in out


def test_an_altered_supervised_step_is_named(demo: Demo, tmp_path: Path) -> None:
    url = demo("supervision")
    for conn in _tampered(url):
        step = conn.execute(
            select(supervised_step.c.id, supervised_step.c.event_id)
            .order_by(supervised_step.c.id)
            .limit(1)
        ).one()
        conn.execute(
            update(supervised_step)
            .where(supervised_step.c.id == step.id)
            .values(division_code="110101")
        )
    code, out = _verify("supervision", tmp_path)
    assert code == 1, out
    assert "the tables differ from the log: supervision supervised_step" in out
    assert f"row (event_id={step.event_id}) differs from entry" in out
    assert 'in division_code: the table says "110101"' in out and "altered" in out


def test_a_validation_finding_without_its_run_is_named(demo: Demo, tmp_path: Path) -> None:
    """The demo's clean chain has no finding: one written straight into the table (to raise an
    alert against a unit, say) is not in any validation run's entry."""
    url = demo("supervision")
    for conn in _tampered(url):
        conn.execute(
            insert(rule_finding).values(
                rule="used_twice",
                severity="severe",
                subject_kind="code",
                subject="80000000000000000001",
                owing_uscc="12320102MB00000117",
                division_code="320102",
                occurred_at=_now(),
                detail={},
                found_at=_now(),
                run_id=1,
            )
        )
    code, out = _verify("supervision", tmp_path)
    assert code == 1, out
    assert "the tables differ from the log: supervision rule_finding" in out
    assert "subject=80000000000000000001" in out


def _now() -> datetime:
    return datetime.now(UTC)


# --- the province's stock, replayed from its journal -----------------------------------------


def _first_code(conn: Connection, **where: str) -> str:
    query = select(stock.c.code).order_by(stock.c.code).limit(1)
    for column, value in where.items():
        query = query.where(stock.c[column] == value)
    return str(conn.execute(query).scalar_one())


def _entry_of(conn: Connection, kind: str) -> int:
    entries = province_journal.table
    query = select(func.min(entries.c.id)).where(entries.c.kind == kind)
    return int(conn.execute(query).scalar_one())


def _entry_naming(conn: Connection, kind: str, code: str) -> int:
    """The last entry of ``kind`` whose document names ``code``."""
    named = [e["id"] for e in province_journal.entries(conn, kind) if code in json.dumps(e)]
    return int(named[-1])


def test_the_untouched_demo_stock_is_replayed(demo: Demo, tmp_path: Path) -> None:
    demo("immunization")
    code, out = _verify("immunization", tmp_path)
    assert code == 0, out
    assert "stock (replayed from the journal)" in out and "batch" in out


def test_a_used_dose_set_back_in_stock_is_named(demo: Demo, tmp_path: Path) -> None:
    url = demo("immunization")
    for conn in _tampered(url):
        used = _first_code(conn, state="used")
        vaccination = _entry_naming(conn, "vaccination", used)
        conn.execute(update(stock).where(stock.c.code == used).values(state="in_stock"))
    code, out = _verify("immunization", tmp_path)
    assert code == 1, out
    assert f"the tables differ from the log: immunization stock: code {used}: state is " in out
    assert f"in_stock in stock; the journal makes it used (entry {vaccination}): altered" in out


def test_a_locked_batch_unlocked_is_named(demo: Demo, tmp_path: Path) -> None:
    url = demo("immunization")
    for conn in _tampered(url):
        locked = conn.execute(select(batch).where(batch.c.lock_kind.is_not(None))).mappings().one()
        key = (batch.c.mah_uscc == locked["mah_uscc"]) & (batch.c.batch_no == locked["batch_no"])
        conn.execute(update(batch).where(key).values(lock_kind=None))
    code, out = _verify("immunization", tmp_path)
    assert code == 1, out
    assert "the tables differ from the log: immunization batch: row (mah_uscc=" in out
    assert f"batch_no={locked['batch_no']}) differs from entry" in out
    assert f'in lock_kind: the table says null, the log "{locked["lock_kind"]}": altered' in out


def test_a_locked_dose_unlocked_is_named(demo: Demo, tmp_path: Path) -> None:
    """The demo locks whole batches; a dose's own lock (the MAH's status on it) is compared
    the same way: a dose the table says is locked where the journal never locked it."""
    url = demo("immunization")
    for conn in _tampered(url):
        dose = _first_code(conn, state="in_stock")
        conn.execute(update(stock).where(stock.c.code == dose).values(mah_status="abnormal"))
    code, out = _verify("immunization", tmp_path)
    assert code == 1, out
    assert f"immunization stock: code {dose}: mah_status is abnormal in stock; the journal " in out
    assert "makes it none (entry" in out


def test_a_code_inserted_into_stock_is_named(demo: Demo, tmp_path: Path) -> None:
    url = demo("immunization")
    forged = "89000000000000000017"
    for conn in _tampered(url):
        row = conn.execute(select(stock).order_by(stock.c.code).limit(1)).mappings().one()
        conn.execute(insert(stock).values({**row, "code": forged, "parent_code": None}))
    code, out = _verify("immunization", tmp_path)
    assert code == 1, out
    assert f"immunization stock: code {forged} is in stock (in_stock at " in out
    assert "but no entry of the journal put it there: inserted outside the log" in out


def test_a_code_with_another_holder_is_named(demo: Demo, tmp_path: Path) -> None:
    url = demo("immunization")
    for conn in _tampered(url):
        held = conn.execute(select(stock).order_by(stock.c.code).limit(1)).mappings().one()
        elsewhere = "12320000MB00000010"
        conn.execute(
            update(stock).where(stock.c.code == held["code"]).values(holder_uscc=elsewhere)
        )
    code, out = _verify("immunization", tmp_path)
    assert code == 1, out
    assert f"immunization stock: code {held['code']}: holder_uscc is {elsewhere} in stock; " in out
    assert f"the journal makes it {held['holder_uscc']} (entry" in out


def test_a_deleted_stock_row_is_named(demo: Demo, tmp_path: Path) -> None:
    url = demo("immunization")
    for conn in _tampered(url):
        gone = conn.execute(select(stock).order_by(stock.c.code.desc()).limit(1)).mappings().one()
        conn.execute(delete(stock).where(stock.c.code == gone["code"]))
    code, out = _verify("immunization", tmp_path)
    assert code == 1, out
    assert f"immunization stock: code {gone['code']} is missing from stock; entry " in out
    assert f"of the journal left it {gone['state']} at {gone['holder_uscc']}: deleted" in out
