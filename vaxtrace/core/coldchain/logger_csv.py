"""A logger's CSV (温度记录仪导出): read into a series, each reading with the line it came
from, so that a refusal names the line."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from vaxtrace.core.coldchain.readings import MAX_READINGS, Reading, plausible
from vaxtrace.core.errors import DomainError
from vaxtrace.core.reasons import Reason

CSV_HEADER = ("time", "celsius")


@dataclass(frozen=True, slots=True)
class LoggerFile:
    """The readings of a logger's CSV and the line each came from (for refusals)."""

    readings: list[Reading]
    lines: list[int]

    def where(self, i: int, _part: str) -> tuple[str, str]:
        return "file", f"line {self.lines[i]}"


def parse_logger_csv(text: str, max_readings: int = MAX_READINGS) -> LoggerFile:
    """A logger's export: a header ``time,celsius``, then one reading a line, the time in
    ISO 8601 with its timezone (``2024-04-02T08:00:00+08:00`` or ``…Z``), the temperature in
    °C with a decimal point. Blank lines are skipped. A refusal names the line (field
    ``file``)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    readings: list[Reading] = []
    lines: list[int] = []
    header_seen = False
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        cells = [cell.strip() for cell in row]
        if not header_seen:
            if tuple(c.lower() for c in cells) != CSV_HEADER:
                raise _csv_error(
                    "csv_header", line, f"the header must be 'time,celsius', not {row}"
                )
            header_seen = True
            continue
        if len(cells) != 2:
            raise _csv_error("csv_columns", line, f"{len(cells)} columns; expected time,celsius")
        if len(readings) >= max_readings:
            raise _csv_error("too_many_readings", line, f"more than {max_readings} readings")
        readings.append(Reading(_csv_time(cells[0], line), _csv_celsius(cells[1], line)))
        lines.append(line)
    if not header_seen:
        raise _csv_error("csv_header", 1, "an empty file; the header must be 'time,celsius'")
    if not readings:
        raise DomainError(Reason.NO_READINGS, "the file holds no readings", field="file")
    return LoggerFile(readings, lines)


def _csv_time(text: str, line: int) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _csv_error(Reason.INVALID_TIME, line, f"time {text!r} is not ISO 8601") from None
    if value.tzinfo is None:
        raise _csv_error(Reason.TIME_WITHOUT_TIMEZONE, line, f"time {text!r} has no timezone")
    return value


def _csv_celsius(text: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _csv_error(
            Reason.INVALID_CELSIUS, line, f"celsius {text!r} is not a number"
        ) from None
    try:
        return plausible(value)
    except DomainError as exc:
        raise _csv_error(exc.reason, line, exc.message) from None


def _csv_error(reason: str, line: int, message: str) -> DomainError:
    return DomainError(reason, f"line {line}: {message}", field="file")
