"""温度记录 temperature records of storage or transport, with their readings."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from vaxtrace.core.datasets.elements import Model, NonEmpty, Write
from vaxtrace.core.times import BusinessTime


class Reading(Model):
    time: BusinessTime
    celsius: float = Field(ge=-90, le=80)


class TemperatureRecord(Write):
    """温度记录 storage or transport temperature record."""

    kind: Literal["storage", "transport"] = Field(description="储存/运输")
    equipment_id: NonEmpty = Field(description="设备编号 fridge, cold room or vehicle")
    related_document_no: str | None = Field(default=None, description="关联单据 e.g. 发货单号")
    start_time: BusinessTime
    end_time: BusinessTime
    readings: tuple[Reading, ...] = Field(min_length=1, max_length=200_000)

    @model_validator(mode="after")
    def _span(self) -> Self:
        if self.end_time < self.start_time:
            raise ValueError("end_time is before start_time")
        outside = [r for r in self.readings if not self.start_time <= r.time <= self.end_time]
        if outside:
            raise ValueError(f"{len(outside)} reading(s) fall outside start_time..end_time")
        return self

    @property
    def minimum(self) -> float:
        return min(r.celsius for r in self.readings)

    @property
    def maximum(self) -> float:
        return max(r.celsius for r in self.readings)
