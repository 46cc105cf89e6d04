"""A kindergarten's or school's roster (花名册) for the entry check, read as a stream.

A roster is CSV (UTF-8 with or without a BOM, or GBK/GB 18030: detected) or XLSX (the first
sheet, read with openpyxl in read-only mode), one child a row under a header row. The header
may sit under a title (the first ten rows are searched for it); its columns are named in
Chinese or English, with the synonyms of :data:`COLUMNS` (spaces, ``*`` marks and a
parenthesised note ignored: ``出生日期(yyyy-mm-dd)*`` is 出生日期). 姓名, 性别 and 出生日期 are
required; 监护人电话, 接种证号, 身份证号, 监护人姓名 and 班级 are used when present; other
columns are ignored.

Rows are numbered as a spreadsheet numbers them (the header row of a plain file is row 1).
A row's faults are kept on the row (:class:`RowProblem`, naming row and column), never
refused file-wide: a fault in a required column makes the row invalid; an unreadable phone,
card number or resident id is set aside (not used to match) and noted. Blank rows are skipped.
What refuses the file: no header with the required columns (``missing_column``, naming the
column), no data row, more than ``max_rows`` data rows (``too_many_rows``, naming the first
row over), an encoding that is neither UTF-8 nor GBK, a file that is neither CSV nor XLSX.

Reading never holds the file: rows are parsed one at a time from the stream (openpyxl's
read-only mode keeps the shared-strings table, nothing of the rows).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import IO, Any

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason

MAX_ROWS = 10_000
"""The most data rows one roster may have (a school's intake is hundreds to thousands)."""

HEADER_SEARCH = 10
"""How many rows from the top may hold the header (a title row or two above it)."""

LABELS = {
    "name": "姓名",
    "sex": "性别",
    "birth_date": "出生日期",
    "phone": "监护人电话",
    "card_no": "接种证号",
    "resident_id": "身份证号",
    "guardian": "监护人姓名",
    "class_name": "班级",
}
"""Each field's column as the results and the problems name it."""

COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "儿童姓名", "学生姓名", "幼儿姓名", "受种者姓名", "名字", "name",
             "childname", "studentname", "fullname"),
    "sex": ("性别", "sex", "gender"),
    "birth_date": ("出生日期", "出生年月日", "出生年月", "生日", "出生时间", "birthdate",
                   "dateofbirth", "dob", "birthday"),
    "phone": ("监护人电话", "监护人手机", "监护人手机号", "监护人联系电话", "家长电话", "家长手机",
              "家长手机号", "家长联系电话", "联系电话", "联系方式", "手机号", "手机号码", "手机",
              "电话", "guardianphone", "parentphone", "phone", "mobile", "telephone", "tel"),
    "card_no": ("接种证号", "预防接种证号", "接种证编号", "预防接种证编号", "接种证号码",
                "cardno", "cardnumber", "vaccinationcard", "vaccinationcardno",
                "vaccinationcardnumber"),
    "resident_id": ("身份证号", "身份证号码", "居民身份证号", "居民身份证号码", "公民身份号码",
                    "身份证", "证件号码", "residentid", "idnumber", "idcard", "idno"),
    "guardian": ("监护人姓名", "监护人", "家长姓名", "家长", "guardian", "guardianname",
                 "parent", "parentname"),
    "class_name": ("班级", "班别", "年级班级", "class", "classname"),
}  # fmt: skip
"""The names a column may have (compared normalised: see :func:`normalise_header`)."""

REQUIRED = ("name", "sex", "birth_date")

_SYNONYM = {synonym: field for field, names in COLUMNS.items() for synonym in names}
_NOTE = re.compile(r"[(（\[【].*?[)）\]】]")
_DROP = re.compile(r"[\s_\-*·.:：]+")

SEXES = {
    "男": "M", "男性": "M", "男孩": "M", "m": "M", "male": "M", "boy": "M", "1": "M",
    "女": "F", "女性": "F", "女孩": "F", "f": "F", "female": "F", "girl": "F", "2": "F",
}  # fmt: skip
"""Sex as rosters write it (GB/T 2261.1: 1 male, 2 female)."""


@dataclass(frozen=True, slots=True)
class RowProblem:
    """What is wrong in one cell: row and column named as the roster names them."""

    row: int
    column: str
    reason: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "reason": self.reason,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One child of the roster as read; a field the row lacks or could not read is None."""

    row: int
    name: str | None
    sex: str | None
    birth_date: date | None
    phones: tuple[str, ...]
    card_no: str | None
    resident_id: str | None
    guardian: str | None
    class_name: str | None
    problems: tuple[RowProblem, ...]

    @property
    def valid(self) -> bool:
        """Whether the required fields were read (a row to match)."""
        return self.name is not None and self.sex is not None and self.birth_date is not None

    def keys(self) -> list[tuple[str, str]]:
        """What makes two rows the same child: the card, the resident id, or name, sex and
        birth date together."""
        found: list[tuple[str, str]] = []
        if self.card_no:
            found.append(("card", self.card_no))
        if self.resident_id:
            found.append(("rid", self.resident_id))
        if self.valid:
            found.append(("person", f"{self.name}|{self.sex}|{self.birth_date}"))
        return found

    def stored(self) -> dict[str, Any]:
        """The row as kept for a re-check (JSON-shaped)."""
        return {
            "name": self.name,
            "sex": self.sex,
            "birth_date": None if self.birth_date is None else self.birth_date.isoformat(),
            "phones": list(self.phones),
            "card_no": self.card_no,
            "resident_id": self.resident_id,
            "guardian": self.guardian,
            "class_name": self.class_name,
            "problems": [p.as_dict() for p in self.problems],
        }

    @classmethod
    def from_stored(cls, row: int, values: dict[str, Any]) -> RosterRow:
        born = values.get("birth_date")
        return cls(
            row=row,
            name=values.get("name"),
            sex=values.get("sex"),
            birth_date=None if born is None else date.fromisoformat(born),
            phones=tuple(values.get("phones") or ()),
            card_no=values.get("card_no"),
            resident_id=values.get("resident_id"),
            guardian=values.get("guardian"),
            class_name=values.get("class_name"),
            problems=tuple(RowProblem(**p) for p in values.get("problems") or ()),
        )


# --- the header --------------------------------------------------------------------------------


def normalise_header(text: str) -> str:
    """A header cell compared: NFKC, a parenthesised note, spaces, ``*`` and ``_`` dropped,
    lower case."""
    folded = unicodedata.normalize("NFKC", text).strip().lstrip("\ufeff")
    return _DROP.sub("", _NOTE.sub("", folded)).lower()


def header_fields(cells: Sequence[Any]) -> dict[str, int]:
    """Which column holds each known field (the first column naming it)."""
    found: dict[str, int] = {}
    for i, cell in enumerate(cells):
        if cell is None:
            continue
        field = _SYNONYM.get(normalise_header(str(cell)))
        if field is not None and field not in found:
            found[field] = i
    return found


def _missing(fields: dict[str, int]) -> list[str]:
    return [f for f in REQUIRED if f not in fields]


def _refuse_header(best: dict[str, int] | None) -> DomainError:
    missing = _missing(best or {})
    label = LABELS[missing[0]]
    names = "、".join(LABELS[f] for f in missing)
    return DomainError(
        Reason.MISSING_COLUMN,
        f"the roster has no {names} column (a header row with 姓名, 性别 and 出生日期 is "
        f"required within its first {HEADER_SEARCH} rows)",
        field=label,
        details={"missing_columns": [LABELS[f] for f in missing]},
    )


# --- cells -------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as text: a whole float without its ``.0``, a date as ISO, a CSV's ``'`` or tab
    text marker dropped, full-width forms folded (NFKC), trimmed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text.lstrip("'\t").strip()


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(value: Any) -> date | None:
    """A birth date as rosters write it: 2018-03-01, 2018/3/1, 2018.3.1, 2018年3月1日,
    20180301, a spreadsheet date, or an Excel serial day number; None when it is none."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = int(value)
        if 19000101 <= number <= 29991231:
            return parse_date(str(number))
        if 1 <= number <= 200_000:
            return EXCEL_EPOCH + timedelta(days=number)
        return None
    text = cell_text(value)
    match = _DATE.match(text) or _COMPACT.match(text)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


_PHONE_SPLIT = re.compile(r"[,，;；/、|]+|\s{2,}")


def parse_phones(text: str) -> tuple[list[str], list[str]]:
    """The phones of a cell (several split by ``,`` ``;`` ``/`` ``、``): (read, unreadable)."""
    read: list[str] = []
    bad: list[str] = []
    for part in _PHONE_SPLIT.split(text):
        if not part.strip():
            continue
        digits = re.sub(r"[\s\-()+]", "", part)
        if digits.startswith("86") and len(digits) == 13:
            digits = digits[2:]
        if re.fullmatch(r"1[3-9]\d{9}", digits) or re.fullmatch(r"0\d{9,11}", digits):
            read.append(digits)
        else:
            bad.append(part.strip())
    return read, bad


# --- a row -------------------------------------------------------------------------------------


class _Row:
    """A row being read: its cells by field, and the problems found."""

    def __init__(self, number: int, cells: Sequence[Any], fields: dict[str, int]) -> None:
        self.number = number
        self.cells = cells
        self.fields = fields
        self.problems: list[RowProblem] = []

    def raw(self, field: str) -> Any:
        i = self.fields.get(field)
        return None if i is None or i >= len(self.cells) else self.cells[i]

    def text(self, field: str) -> str:
        return cell_text(self.raw(field))

    def fault(self, field: str, reason: Reason, message: str) -> None:
        label = LABELS[field]
        where = f"row {self.number}, column {label}"
        self.problems.append(RowProblem(self.number, label, reason.value, f"{where}: {message}"))


def parse_row(
    number: int, cells: Sequence[Any], fields: dict[str, int], today: date
) -> RosterRow | None:
    """Row ``number`` read (None when blank), each fault kept on it."""
    if all(cell_text(c) == "" for c in cells):
        return None
    row = _Row(number, cells, fields)
    name = re.sub(r"\s+", "", row.text("name")) or None
    if name is None:
        row.fault("name", Reason.MISSING_VALUE, "a name is required")
    elif len(name) > 50:
        row.fault("name", Reason.OUT_OF_RANGE, "a name is at most 50 characters")
        name = None
    sex_text = row.text("sex")
    sex = SEXES.get(sex_text.lower())
    if sex is None:
        why = "a sex is required (男 or 女)" if not sex_text else f"not 男 or 女: {sex_text!r}"
        row.fault("sex", Reason.MISSING_VALUE if not sex_text else Reason.INVALID_SEX, why)
    born = _birth_date(row, today)
    phones: list[str] = []
    phone_text = row.text("phone")
    if phone_text:
        phones, bad = parse_phones(phone_text)
        for part in bad:
            row.fault("phone", Reason.INVALID_PHONE, f"not a phone number: {part!r} (not used)")
    card = row.text("card_no").upper() or None
    if card is not None and not re.fullmatch(r"[0-9A-Z\-]{6,30}", card):
        row.fault(
            "card_no",
            Reason.INVALID_CARD_NUMBER,
            f"not a vaccination card number: {card!r} (6 to 30 letters, digits or '-'; not used)",
        )
        card = None
    resident_id = _resident_id(row, born, sex)
    return RosterRow(
        row=number,
        name=name,
        sex=sex,
        birth_date=born,
        phones=tuple(dict.fromkeys(phones)),
        card_no=card,
        resident_id=resident_id,
        guardian=re.sub(r"\s+", "", row.text("guardian"))[:50] or None,
        class_name=row.text("class_name")[:50] or None,
        problems=tuple(row.problems),
    )


def _birth_date(row: _Row, today: date) -> date | None:
    raw = row.raw("birth_date")
    if cell_text(raw) == "":
        row.fault("birth_date", Reason.MISSING_VALUE, "a birth date is required")
        return None
    born = parse_date(raw)
    if born is None:
        row.fault(
            "birth_date",
            Reason.INVALID_DATETIME,
            f"not a date: {cell_text(raw)!r} (write 2019-03-01, 2019/3/1 or 2019年3月1日)",
        )
        return None
    if born > today:
        row.fault("birth_date", Reason.BIRTH_IN_FUTURE, f"{born} is after today ({today})")
        return None
    if born.year < 1900:
        row.fault("birth_date", Reason.OUT_OF_RANGE, f"{born} is not a child's birth date")
        return None
    return born


def _resident_id(row: _Row, born: date | None, sex: str | None) -> str | None:
    text = row.text("resident_id").upper()
    if not text:
        return None
    try:
        value = str(ric.validate(text))
    except ValidationError as exc:
        row.fault(
            "resident_id", Reason.INVALID_RESIDENT_ID, f"not a valid resident id ({exc}; not used)"
        )
        return None
    if born is not None and value[6:14] != born.strftime("%Y%m%d"):
        row.fault(
            "resident_id",
            Reason.RESIDENT_ID_MISMATCH,
            "the resident id's birth date is not the row's (not used)",
        )
        return None
    if sex is not None and (int(value[16]) % 2 == 1) != (sex == "M"):
        row.fault(
            "resident_id",
            Reason.RESIDENT_ID_MISMATCH,
            "the resident id's sex is not the row's (not used)",
        )
        return None
    return value


# --- the file ----------------------------------------------------------------------------------


def read_rows(
    records: Iterable[Sequence[Any]], today: date, max_rows: int = MAX_ROWS
) -> Iterator[RosterRow]:
    """The rows under the header of ``records`` (each a sequence of cells, numbered from 1),
    one at a time."""
    fields: dict[str, int] | None = None
    best: dict[str, int] | None = None
    count = 0
    for number, cells in enumerate(records, start=1):
        if fields is None:
            found = header_fields(cells)
            if not _missing(found):
                fields = found
                continue
            if best is None or len(found) > len(best):
                best = found
            if number >= HEADER_SEARCH:
                raise _refuse_header(best)
            continue
        row = parse_row(number, cells, fields, today)
        if row is None:
            continue
        count += 1
        if count > max_rows:
            raise DomainError(
                Reason.TOO_MANY_ROWS,
                f"row {number} is over the limit: a roster has at most {max_rows} children "
                "(split it by class or grade)",
                field="file",
                details={"row": number, "max_rows": max_rows},
            )
        yield row
    if fields is None:
        raise _refuse_header(best)
    if count == 0:
        raise DomainError(Reason.EMPTY_ROSTER, "the roster lists no child", field="file")


XLSX_MAGIC = b"PK\x03\x04"


def read_roster(stream: IO[bytes], today: date, max_rows: int = MAX_ROWS) -> Iterator[RosterRow]:
    """The rows of a roster file (CSV or XLSX, told by its first bytes), one at a time, from a
    seekable binary stream."""
    start = stream.tell()
    head = stream.read(65_536)
    stream.seek(start)
    if head.startswith(XLSX_MAGIC):
        return read_rows(xlsx_records(stream), today, max_rows)
    return read_rows(csv_records(stream, detect_encoding(head)), today, max_rows)


def detect_encoding(head: bytes) -> str:
    """UTF-8 (with or without a BOM), else GB 18030 (GBK's superset), from the first bytes."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise DomainError(
            Reason.UNREADABLE_FILE, "not a CSV or XLSX file (binary content)", field="file"
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        return "gb18030"
    except UnicodeDecodeError as exc:
        raise DomainError(
            Reason.UNSUPPORTED_ENCODING,
            "the CSV is neither UTF-8 nor GBK text: save it as CSV UTF-8",
            field="file",
        ) from exc


class _Unclosing(io.RawIOBase):
    """A stream read through without closing it (the caller owns it)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


_UNDECODED = re.compile("[\udc80-\udcff]")
"""Bytes the encoding could not decode, as ``surrogateescape`` keeps them."""


def csv_records(stream: IO[bytes], encoding: str) -> Iterator[list[str]]:
    """A CSV's records, one at a time (comma, tab or semicolon separated: told from the
    first lines); a record with bytes not of ``encoding`` is refused, naming its row."""
    raw = io.BufferedReader(_Unclosing(stream))
    text = io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="")
    number = 0
    try:
        sample = [line for line in (text.readline(65_536) for _ in range(HEADER_SEARCH)) if line]
        reader = csv.reader(itertools.chain(sample, text), delimiter=_delimiter(sample))
        for number, record in enumerate(reader, start=1):
            if any(_UNDECODED.search(cell) for cell in record):
                raise DomainError(
                    Reason.UNSUPPORTED_ENCODING,
                    f"row {number}: not {encoding} text (save the whole file in one encoding)",
                    field="file",
                    details={"row": number},
                )
            yield record
    except csv.Error as exc:
        raise DomainError(
            Reason.UNREADABLE_FILE,
            f"row {number + 1}: not CSV ({exc})",
            field="file",
            details={"row": number + 1},
        ) from exc
    finally:
        text.detach()


def _delimiter(lines: Sequence[str]) -> str:
    counts = {d: max((line.count(d) for line in lines), default=0) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def xlsx_records(stream: IO[bytes]) -> Iterator[tuple[Any, ...]]:
    """The first sheet's rows, one at a time (openpyxl read-only)."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise DomainError(
            Reason.UNREADABLE_FILE, f"not a readable XLSX workbook ({exc})", field="file"
        ) from exc
    try:
        sheet = book.worksheets[0]
        yield from sheet.iter_rows(values_only=True)
    finally:
        book.close()


# --- writing one -------------------------------------------------------------------------------

SAMPLE_HEADER = ("姓名", "性别", "出生日期", "监护人姓名", "监护人电话", "接种证号", "班级")


def write_roster(children: Iterable[Mapping[str, Any]], encoding: str = "utf-8-sig") -> bytes:
    """A roster a school could send, as CSV (UTF-8 with a BOM, or ``gbk``), from children
    as the province answers them (``name``, ``sex`` M/F, ``birth_date``, ``guardians``,
    ``card_no``; ``class_name`` if any): what the demo writes as a sample."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SAMPLE_HEADER)
    for c in children:
        guardian = (c.get("guardians") or [{}])[0]
        writer.writerow(
            [
                c.get("name") or "",
                {"M": "男", "F": "女"}.get(str(c.get("sex")), ""),
                str(c.get("birth_date") or ""),
                guardian.get("name") or "",
                guardian.get("phone") or "",
                c.get("card_no") or "",
                c.get("class_name") or "",
            ]
        )
    return out.getvalue().encode(encoding)
