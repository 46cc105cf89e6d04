"""A province's whole chain as its supervision system (监管系统) receives it, clean: every
dose of a few MAHs' batches produced (101), self-inspected and lot-released (901, 902 on the
batch), shipped to the provincial CDC (201), received (107), distributed to a county CDC
(209), received, distributed to a vaccination site, received, and then vaccinated (322), left
in stock, returned to the county CDC (202) or written off as damaged (215, some after a
cold-chain excursion, 931). A few doses are vaccinated, undone (323) and vaccinated again; a
few are locked by their MAH (911) and unlocked (912) before they are used.

Clean means no validation rule has anything to say: times only go forward, each receipt names
the note that shipped its codes and its shipper, every note is received in full, each step
reaches the platform within an hour, every field a scenario needs is there, and no dose is
used after its batch expires.

Steps are generated batch by batch (a 1,000,000-dose province never sits in memory whole),
the same every time for the same seed, and kept either as the platform would keep them, one
:func:`~vaxtrace.store.supervision.steps.add_step` each (:func:`load_steps`), or set-based in
bulk with the same result (:func:`load_fast`: ``supervised_step`` by executemany, each step's
codes by one INSERT … SELECT over the steps just written). Never imported by production code.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, insert, select, text

from vaxtrace.core.codes import issue_nmpa20
from vaxtrace.core.datasets.basic_data import Organisation, OrgKind
from vaxtrace.core.registry import FeedKind
from vaxtrace.sim import catalogue
from vaxtrace.store.engine import write_tx
from vaxtrace.store.rows import insert_new
from vaxtrace.store.supervision import steps as supervised
from vaxtrace.store.supervision.schema import (
    basic_data,
    supervised_batch,
    supervised_code_batch,
    supervised_code_step,
    supervised_step,
    supervised_step_batch,
)

START = datetime(2026, 3, 2, tzinfo=UTC)
"""When the first batch is produced."""

CHINA = ZoneInfo("Asia/Shanghai")
MAX_BATCH = 100_000
"""Doses of one batch at most."""

WORLD, ANOMALY, EXTRA = 1, 2, 3
"""Name spaces of the event ids the simulator gives its steps."""

Progress = Callable[[int], None]
"""Called with the number of doses just loaded."""


@dataclass(frozen=True, slots=True)
class ChainStep:
    """A step as the platform copies it (the ``step`` :func:`add_step` keeps) and its
    envelope: ``event_id``, the system that reported it and the data's owner."""

    event_id: str
    reported_by: str
    data_owner: str
    step: dict[str, Any]

    @property
    def document(self) -> tuple[str, str, str]:
        """(bill type, doer, document number)."""
        s = self.step
        return (s["bill_type"], s["org_uscc"], s["document_no"])


@dataclass(frozen=True, slots=True)
class ChainBatch:
    """One batch of a MAH (批次): its doses are ``identification_code`` serials from
    ``first_serial`` on."""

    index: int
    mah: Organisation
    batch_no: str
    product_code: str
    identification_code: str
    first_serial: int
    doses: int
    produced_at: datetime
    expiry_date: date
    certificate_no: str

    def codes(self) -> list[str]:
        ident, first = self.identification_code, self.first_serial
        return [issue_nmpa20(ident, first + n) for n in range(self.doses)]

    def master_data(self) -> dict[str, Any]:
        """The batch as a shipping note carries it (product, dates, lot release)."""
        released = self.produced_at + timedelta(days=5)
        return {
            "batch_no": self.batch_no,
            "product_code": self.product_code,
            "production_date": china_day(self.produced_at).isoformat(),
            "expiry_date": self.expiry_date.isoformat(),
            "lot_release": {
                "certificate_no": self.certificate_no,
                "authority": "中国食品药品检定研究院",
                "release_date": china_day(released).isoformat(),
                "certificate_sha256": "ab" * 32,
            },
        }


@dataclass(frozen=True, slots=True)
class County:
    """A county CDC (区县疾控) and the vaccination sites it supplies."""

    cdc: Organisation
    sites: tuple[Organisation, ...]


@dataclass(frozen=True, slots=True)
class StockedDose:
    """A dose a site received and has not used, returned or written off."""

    site: Organisation
    code: str
    received_at: datetime


@dataclass(frozen=True)
class SupervisedWorld:
    """A province's cast and batches; its steps are generated on demand (:meth:`steps`)."""

    seed: int
    doses: int
    mahs: tuple[Organisation, ...]
    provincial_cdc: Organisation
    city_cdcs: tuple[Organisation, ...]
    counties: tuple[County, ...]
    outsiders: tuple[Organisation, ...]
    """CDCs of another province (registered; the clean chain never ships to them)."""
    batches: tuple[ChainBatch, ...]
    controls: bool = True
    """Whether some doses are locked and unlocked, and some excursions reported, on the way."""

    def organisations(self) -> list[Organisation]:
        units = [c.cdc for c in self.counties] + [s for c in self.counties for s in c.sites]
        return [*self.mahs, self.provincial_cdc, *self.city_cdcs, *units, *self.outsiders]

    def steps(self) -> Iterator[ChainStep]:
        """Every step of the chain, batch after batch."""
        for batch in self.batches:
            yield from self.batch_steps(batch)

    def batch_steps(
        self, batch: ChainBatch, stock: list[StockedDose] | None = None
    ) -> list[ChainStep]:
        """The steps of one batch's doses (and, into ``stock``, the doses left at sites)."""
        return _BatchFlow(self, batch, stock).steps()

    def stock(self, limit: int | None = None) -> list[StockedDose]:
        """Doses left in stock at sites, batch by batch (at least ``limit`` of them, when
        given and there are that many)."""
        found: list[StockedDose] = []
        for batch in self.batches:
            if limit is not None and len(found) >= limit:
                break
            self.batch_steps(batch, found)
        return found


def china_day(at: datetime) -> date:
    """The day it is in China at ``at`` (an expiry date is a day of China time)."""
    return at.astimezone(CHINA).date()


def event_id(space: int, seed: int, group: int, n: int) -> str:
    """A deterministic UUID-shaped id, distinct per name space, seed, group and number
    (formatted directly: a million ``uuid.UUID`` take seconds)."""
    return f"{space:08x}-{seed & 0xFFFF:04x}-4000-{group & 0xFFFF:04x}-{n:012x}"


def generate(doses: int = 2_000, *, seed: int = 1, controls: bool = True) -> SupervisedWorld:
    """A province of ``doses`` doses in batches of at most 100,000 (three at least) of three
    MAHs, a provincial CDC, two city CDCs, six county CDCs with four sites each."""
    mahs = tuple(m.organisation for m in catalogue.mahs(3))
    counties = tuple(_county(city, county) for city in (1, 2) for county in (2, 5, 6))
    count = max(min(3, doses), math.ceil(doses / MAX_BATCH))
    sizes = [doses // count + (1 if i < doses % count else 0) for i in range(count)]
    keys = [t.key for t in catalogue.TEMPLATES]
    batches = tuple(
        _batch(i, mahs[i % len(mahs)], keys[i % len(keys)], n) for i, n in enumerate(sizes)
    )
    return SupervisedWorld(
        seed=seed,
        doses=doses,
        mahs=mahs,
        provincial_cdc=catalogue.provincial_cdc(),
        city_cdcs=tuple(
            _cdc(f"32{city:02d}00", f"示例省第{city}市疾病预防控制中心") for city in (1, 2)
        ),
        counties=counties,
        outsiders=(_cdc("330000", "邻省疾病预防控制中心"),),
        batches=batches,
        controls=controls,
    )


def _cdc(division: str, name: str) -> Organisation:
    return Organisation(
        uscc=catalogue.make_uscc(f"12{division}MB{int(division[2:]):07d}"),
        name=name,
        kind=OrgKind.CDC,
        division_code=division,
    )


def _county(city: int, county: int) -> County:
    division = f"32{city:02d}{county:02d}"
    sites = tuple(
        Organisation(
            uscc=catalogue.make_uscc(f"12{division}MC{s:07d}"),
            name=f"示例省{division}第{s + 1}社区卫生服务中心",
            kind=OrgKind.POV,
            division_code=division,
        )
        for s in range(4)
    )
    return County(_cdc(division, f"示例省{division}区疾病预防控制中心"), sites)


def _batch(index: int, mah: Organisation, product: str, doses: int) -> ChainBatch:
    produced = START + timedelta(days=2 * index, hours=8)
    return ChainBatch(
        index=index,
        mah=mah,
        batch_no=f"SV{index + 1:04d}",
        product_code=product,
        identification_code=f"81{index:05d}",
        first_serial=0,
        doses=doses,
        produced_at=produced,
        expiry_date=china_day(produced + timedelta(days=730)),
        certificate_no=f"SZ2026{index + 1:05d}",
    )


def _sizes(total: int, size: int) -> list[int]:
    """``total`` cut in parts of ``size`` (the last one shorter)."""
    return [min(size, total - start) for start in range(0, total, size)]


class _BatchFlow:
    """One batch's doses down the chain, steps in the order a platform would pass them on
    (by batch, note and lot; each lot's own times rise along the chain)."""

    def __init__(self, world: SupervisedWorld, batch: ChainBatch, stock: list[StockedDose] | None):
        self.world, self.batch, self.stock = world, batch, stock
        self.rng = random.Random(f"{world.seed}:{batch.index}")
        self.out: list[ChainStep] = []
        self.numbers: dict[str, int] = {}
        note = min(10_000, max(50, math.ceil(batch.doses / 10)))
        self.note_size = note
        self.county_lot = min(2_000, max(20, note // 5))
        self.site_lot = min(200, max(10, self.county_lot // 10))

    def number(self, prefix: str) -> str:
        n = self.numbers[prefix] = self.numbers.get(prefix, 0) + 1
        return f"{prefix}{self.batch.index:03d}{n:06d}"

    def add(
        self,
        bill: str,
        org: Organisation,
        at: datetime,
        codes: Sequence[str],
        *,
        division: str | None = None,
        document_no: str | None = None,
        **more: Any,
    ) -> str:
        no = document_no or self.number(_PREFIX[bill])
        self.out.append(
            make_step(
                event_id(WORLD, self.world.seed, self.batch.index, len(self.out) + 1),
                bill,
                org,
                no,
                at,
                codes,
                reported_at=at + timedelta(minutes=1 + int(self.rng.random() * 50)),
                division=division,
                **more,
            )
        )
        return no

    def steps(self) -> list[ChainStep]:
        b, mah, cdc = self.batch, self.batch.mah, self.world.provincial_cdc
        codes = b.codes()
        on_batch: dict[str, Any] = {"mah_uscc": mah.uscc, "batch_nos": (b.batch_no,)}
        at = b.produced_at
        self.add("101", mah, at, codes, detail={"warehouse": "成品库"}, **on_batch)
        inspection = {"conclusion": "合格", "report_no": f"ZJ{b.batch_no}"}
        self.add("901", mah, at + timedelta(days=1), (), detail=inspection, **on_batch)
        release = {"certificate_no": b.certificate_no, "conclusion": "符合规定"}
        self.add("902", mah, at + timedelta(days=5), (), detail=release, **on_batch)
        start = 0
        for k, size in enumerate(_sizes(b.doses, self.note_size)):
            shipped = at + timedelta(days=7, hours=k)
            note = codes[start : start + size]
            start += size
            no = self.add(
                "201",
                mah,
                shipped,
                note,
                division=cdc.division_code,
                counterparty_uscc=cdc.uscc,
                detail={"expected_quantity": size, "batches": [b.master_data()]},
                **on_batch,
            )
            received = shipped + timedelta(hours=20)
            self.receive(cdc, mah, no, note, received)
            self.to_counties(note, received)
        return self.out

    def receive(
        self,
        unit: Organisation,
        shipper: Organisation,
        note: str,
        codes: Sequence[str],
        at: datetime,
    ) -> None:
        detail = {
            "verification": "verified",
            "expected_quantity": len(codes),
            "actual_quantity": len(codes),
        }
        self.add(
            "107",
            unit,
            at,
            codes,
            counterparty_uscc=shipper.uscc,
            source_document_no=note,
            detail=detail,
        )

    def to_counties(self, codes: list[str], received: datetime) -> None:
        cdc, start = self.world.provincial_cdc, 0
        for c, size in enumerate(_sizes(len(codes), self.county_lot)):
            county = self.world.counties[self.rng.randrange(len(self.world.counties))]
            lot = codes[start : start + size]
            start += size
            shipped = received + timedelta(days=1, minutes=10 * c)
            no = self.add("209", cdc, shipped, lot, counterparty_uscc=county.cdc.uscc)
            arrived = shipped + timedelta(hours=5)
            self.receive(county.cdc, cdc, no, lot, arrived)
            self.to_sites(county, lot, arrived)

    def to_sites(self, county: County, codes: list[str], received: datetime) -> None:
        start = 0
        for s, size in enumerate(_sizes(len(codes), self.site_lot)):
            site = county.sites[self.rng.randrange(len(county.sites))]
            lot = codes[start : start + size]
            start += size
            shipped = received + timedelta(days=1, minutes=10 * s)
            no = self.add("209", county.cdc, shipped, lot, counterparty_uscc=site.uscc)
            arrived = shipped + timedelta(hours=3)
            self.receive(site, county.cdc, no, lot, arrived)
            self.at_site(county, site, lot, arrived)

    def at_site(
        self, county: County, site: Organisation, lot: list[str], received: datetime
    ) -> None:
        """What becomes of a site's lot: most doses used, some kept, returned or damaged."""
        used: list[str] = []
        kept: list[str] = []
        returned: list[str] = []
        damaged: list[str] = []
        for code in lot:
            draw = self.rng.random()
            bucket = (
                used
                if draw < 0.85
                else kept
                if draw < 0.95
                else returned
                if draw < 0.98
                else damaged
            )
            bucket.append(code)
        first_use = received + timedelta(hours=1)
        lots = self.numbers.get("lots", 0)
        self.numbers["lots"] = lots + 1
        if self.world.controls and lots % 50 == 7 and used:
            first_use = self.locked_and_unlocked(used + kept, received)
        if returned:
            back = {"return_reason": "excess"}
            when = received + timedelta(days=10)
            self.add("202", site, when, returned, counterparty_uscc=county.cdc.uscc, detail=back)
        if damaged:
            self.damaged(site, damaged, received, excursion=self.world.controls and lots % 10 == 3)
        for code in used:
            self.vaccinate(
                site, code, first_use + timedelta(minutes=int(self.rng.random() * 40 * 24 * 60))
            )
        if self.stock is not None:
            self.stock.extend(StockedDose(site, code, received) for code in kept)

    def locked_and_unlocked(self, codes: list[str], received: datetime) -> datetime:
        """The MAH locks the lot's doses pending a check, and unlocks them a day later; they
        are used only after that. Answers when they may be used."""
        mah = self.batch.mah
        locked = received + timedelta(hours=1)
        lock = {"kind": "lock", "lock_kind": "pending", "reason": "待核查"}
        self.add("911", mah, locked, codes, mah_uscc=mah.uscc, detail=lock)
        unlocked = locked + timedelta(days=1)
        self.add("912", mah, unlocked, codes, mah_uscc=mah.uscc, detail={"kind": "unlock"})
        return unlocked + timedelta(hours=1)

    def damaged(
        self, site: Organisation, codes: list[str], received: datetime, *, excursion: bool
    ) -> None:
        """Doses written off as damaged, after a fridge's excursion for some lots."""
        when = received + timedelta(days=5)
        if excursion:
            end = when - timedelta(hours=2)
            self.add("931", site, end, codes, detail=excursion_detail(site, end))
        self.add(
            "215", site, when, codes, detail={"reason": "冷链异常报损" if excursion else "破损"}
        )

    def vaccinate(self, site: Organisation, code: str, at: datetime) -> None:
        no = self.add("322", site, at, (code,))
        if self.rng.random() < 0.001:
            undo = {"reason": "录入错误", "undoes_document_no": no}
            self.add("323", site, at + timedelta(minutes=10), (code,), detail=undo)
            self.add("322", site, at + timedelta(minutes=20), (code,))


_PREFIX = {
    "101": "SC",
    "901": "ZJ",
    "902": "PQ",
    "201": "FH",
    "107": "SH",
    "209": "PS",
    "322": "JZ",
    "323": "CX",
    "202": "TH",
    "215": "BS",
    "216": "BF",
    "205": "XH",
    "911": "SD",
    "912": "JS",
    "913": "ZH",
    "914": "ZW",
    "931": "CW",
}
"""The first letters of each bill type's document numbers (pinyin initials)."""


def excursion_detail(unit: Organisation, end: datetime) -> dict[str, Any]:
    """What a province says of a fridge's excursion (温度超标), as a 931 carries it."""
    return {
        "equipment_id": f"BX-{unit.uscc[-6:]}",
        "rule_id": "fridge-2-8",
        "rule_kind": "above",
        "tier": "warning",
        "minutes": 95,
        "excursion_id": 1,
        "start_time": (end - timedelta(minutes=95)).isoformat(),
        "min_celsius": 6.5,
        "max_celsius": 11.2,
    }


def make_step(
    event: str,
    bill: str,
    org: Organisation,
    document_no: str,
    at: datetime,
    codes: Sequence[str],
    *,
    reported_at: datetime,
    division: str | None = None,
    **more: Any,
) -> ChainStep:
    """A step as the supervision system receives it (what ``SupervisedStep.model_dump``
    gives, times in UTC), where ``org`` is unless ``division`` says otherwise."""
    step = {
        "bill_type": bill,
        "org_uscc": org.uscc,
        "document_no": document_no,
        "business_time": at,
        "codes": tuple(codes),
        "mah_uscc": None,
        "batch_nos": (),
        "counterparty_uscc": None,
        "source_document_no": None,
        "detail": None,
        "contents": None,
        "division_code": division or org.division_code,
        "reported_at": reported_at,
    } | more
    return ChainStep(event, f"system-{org.uscc[-6:].lower()}", org.uscc, step)


# --- keeping the steps -----------------------------------------------------------------


def register_organisations(conn: Connection, world: SupervisedWorld) -> None:
    """The node's copy of the registry (basic_data): every organisation of the world, with
    its kind and division, as the platform's change feed brings them."""
    rows = [
        {
            "kind": FeedKind.ORGANISATION.value,
            "key": org.uscc,
            "version": n,
            "data": org.model_dump(mode="json"),
        }
        for n, org in enumerate(world.organisations(), start=1)
    ]
    conn.execute(insert_new(conn, basic_data.data), rows)


def load_steps(conn: Connection, steps: Iterable[ChainStep]) -> int:
    """Keep ``steps`` one by one as the platform's copies are kept (add_step); how many."""
    n = 0
    for s in steps:
        supervised.add_step(
            conn,
            event_id=s.event_id,
            reported_by=s.reported_by,
            data_owner=s.data_owner,
            step=s.step,
        )
        n += 1
    return n


def load_world(conn: Connection, world: SupervisedWorld) -> int:
    """The world's organisations and every step, one add_step each (small worlds)."""
    register_organisations(conn, world)
    return load_steps(conn, world.steps())


def load_fast(engine: Engine, world: SupervisedWorld, *, progress: Progress | None = None) -> int:
    """The world's organisations and steps, set-based, a transaction a batch: the same rows
    as :func:`load_world` (no journal entries: a simulated province's steps are not
    decisions of this node). Into a node that holds no steps yet, the indexes of the code
    rows are made once at the end (far quicker than kept up row by row). Answers how many
    steps."""
    with write_tx(engine) as conn:
        register_organisations(conn, world)
        fresh = conn.execute(select(supervised_step.c.id).limit(1)).first() is None
        if fresh:
            for index in supervised_code_step.indexes:
                index.drop(conn)
    kept = 0
    try:
        for batch in world.batches:
            batch_steps = world.batch_steps(batch)
            with write_tx(engine) as conn:
                kept += bulk_steps(conn, batch_steps)
            if progress is not None:
                progress(batch.doses)
    finally:
        if fresh:
            with write_tx(engine) as conn:
                for index in supervised_code_step.indexes:
                    index.create(conn)
    return kept


def load_steps_fast(engine: Engine, steps: Sequence[ChainStep]) -> int:
    """``steps`` kept set-based in one transaction, as :func:`load_steps` would keep them."""
    with write_tx(engine) as conn:
        return bulk_steps(conn, steps)


def bulk_steps(conn: Connection, steps: Sequence[ChainStep]) -> int:
    """Keep ``steps`` in their order with a handful of statements: their rows, one row per
    code of each (INSERT … SELECT over the ids just given), the batch of each produced code,
    the whole batches of batch steps, and the master data of each note's batches."""
    if not steps:
        return 0
    if any(s.step.get("contents") for s in steps):
        raise ValueError("bulk loading keeps no packing: use load_steps for steps with contents")
    after = conn.execute(select(func.coalesce(func.max(supervised_step.c.id), 0))).scalar_one()
    now = datetime.now(UTC)
    _insert_steps(conn, steps, now)
    through = conn.execute(select(func.max(supervised_step.c.id))).scalar_one()
    conn.execute(text(_code_rows(conn.dialect.name)), {"after": after, "through": through})
    _batches_of(conn, steps, after)
    _master_data(conn, steps, now)
    return len(steps)


_STEP_COLUMNS = (
    "event_id",
    "reported_by",
    "data_owner",
    "bill_type",
    "org_uscc",
    "division_code",
    "document_no",
    "business_time",
    "codes",
    "mah_uscc",
    "batch_nos",
    "detail",
    "counterparty_uscc",
    "source_document_no",
    "reported_at",
    "received_at",
)
_PLACEHOLDER = {"sqlite": "?", "postgresql": "%s"}


def _insert_steps(conn: Connection, steps: Sequence[ChainStep], now: datetime) -> None:
    """One executemany of the steps' rows, each value made ready for the driver by its
    column type's own bind processor (as SQLAlchemy would, without its per-row overhead)."""
    dialect = conn.dialect
    processors = [
        (i, p)
        for i, name in enumerate(_STEP_COLUMNS)
        if (p := supervised_step.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    rows = []
    for s in steps:
        st = s.step
        row = [
            s.event_id,
            s.reported_by,
            s.data_owner,
            st["bill_type"],
            st["org_uscc"],
            st["division_code"],
            st["document_no"],
            st["business_time"],
            list(st["codes"]),
            st["mah_uscc"],
            list(st["batch_nos"]),
            st["detail"],
            st["counterparty_uscc"],
            st["source_document_no"],
            st["reported_at"],
            now,
        ]
        for i, process in processors:
            row[i] = process(row[i])
        rows.append(tuple(row))
    mark = _PLACEHOLDER[dialect.name]
    conn.exec_driver_sql(
        f"INSERT INTO supervised_step ({', '.join(_STEP_COLUMNS)}) "
        f"VALUES ({', '.join(mark for _ in _STEP_COLUMNS)})",
        rows,
    )


_CODE_ROWS = (
    "INSERT INTO supervised_code_step "
    "(step_id, code, bill_type, org_uscc, division_code, document_no, business_time, "
    "counterparty_uscc, source_document_no) "
    "SELECT s.id, j.value, s.bill_type, s.org_uscc, s.division_code, s.document_no, "
    "s.business_time, s.counterparty_uscc, s.source_document_no "
    "FROM supervised_step s, {elements} WHERE s.id > :after AND s.id <= :through "
    "ORDER BY s.id"
)
_ELEMENTS = {
    "sqlite": "json_each(s.codes) j",
    "postgresql": "json_array_elements_text(s.codes) AS j(value)",
}


def _code_rows(dialect: str) -> str:
    return _CODE_ROWS.format(elements=_ELEMENTS[dialect])


def _ids(conn: Connection, events: list[str], after: int) -> dict[str, int]:
    """The ids the steps of ``events`` were given (all after ``after``)."""
    s = supervised_step.c
    query = select(s.event_id, s.id).where(s.id > after, s.event_id.in_(events))
    return {str(e): int(i) for e, i in conn.execute(query)}


def _batches_of(conn: Connection, steps: Sequence[ChainStep], after: int) -> None:
    """What add_step keeps of batches: each produced code's batch (the first production
    says), and the whole batches a step on no codes names."""
    produced = [
        s
        for s in steps
        if s.step["bill_type"] == supervised.PRODUCTION
        and len(s.step["batch_nos"]) == 1
        and s.step["codes"]
    ]
    on_batches = [s for s in steps if s.step.get("batch_nos") and not s.step["codes"]]
    ids = _ids(conn, [s.event_id for s in produced + on_batches], after)
    for s in produced:
        conn.execute(
            text(
                "INSERT INTO supervised_code_batch (code, mah_uscc, batch_no) "
                "SELECT DISTINCT cs.code, :mah, :batch FROM supervised_code_step cs "
                "WHERE cs.step_id = :step_id AND NOT EXISTS "
                "(SELECT 1 FROM supervised_code_batch cb WHERE cb.code = cs.code)"
            ),
            {
                "step_id": ids[s.event_id],
                "mah": s.step["mah_uscc"],
                "batch": s.step["batch_nos"][0],
            },
        )
    rows = [
        {"step_id": ids[s.event_id], "mah_uscc": s.step["mah_uscc"], "batch_no": b}
        for s in on_batches
        for b in s.step["batch_nos"]
    ]
    if rows:
        conn.execute(insert(supervised_step_batch), rows)


def _master_data(conn: Connection, steps: Sequence[ChainStep], now: datetime) -> None:
    """Each batch's master data as the first note of it says."""
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for s in steps:
        mah = s.step.get("mah_uscc")
        if s.step["bill_type"] != supervised.SHIPPING_NOTE or mah is None:
            continue
        for b in (s.step.get("detail") or {}).get("batches") or ():
            first.setdefault((mah, b["batch_no"]), supervised.batch_row(mah, b, now))
    if first:
        conn.execute(insert_new(conn, supervised_batch), list(first.values()))


# --- more steps on a loaded world ------------------------------------------------------


def vaccinations(
    world: SupervisedWorld, stock: Sequence[StockedDose], *, group: int = 1
) -> list[ChainStep]:
    """A clean vaccination of each dose of ``stock`` (50 days after its site received it)."""
    made = []
    for n, dose in enumerate(stock, start=1):
        at = dose.received_at + timedelta(days=50, minutes=n % 600)
        made.append(
            make_step(
                event_id(EXTRA, world.seed, group, n),
                "322",
                dose.site,
                f"JZX{group:03d}{n:07d}",
                at,
                (dose.code,),
                reported_at=at + timedelta(minutes=5),
            )
        )
    return made


def counts(conn: Connection) -> dict[str, int]:
    """Rows of each table the loaders fill (for tests and the benchmark's report)."""
    tables = (
        supervised_step,
        supervised_code_step,
        supervised_step_batch,
        supervised_code_batch,
        supervised_batch,
    )
    found = {
        t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in tables
    }
    return found
