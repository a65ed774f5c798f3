from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from labs.db import Base


class HolidayDay(Base):
    """A day of a published schedule: a day off of a holiday, or a make-up working day (调休) for one.
    `year` is the schedule's year; a New Year's bridge may put a day in the December before it."""

    __tablename__ = "holiday_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    working: Mapped[bool] = mapped_column(Boolean)
    holiday: Mapped[str] = mapped_column(String(40))  # as chinese-calendar names it: "Spring Festival"
