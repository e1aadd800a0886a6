"""The report of the fan-out runs (platform schema): a row per run, and a row per tenant of
a run that is not done yet or failed for good (a done tenant's row is deleted as it is
counted, so the table holds only what an operator may need to look at)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import PlatformBase, str_enum
from app.tenants.models import SLUG_MAX


class TenantState(enum.StrEnum):
    queued = "queued"
    running = "running"
    retrying = "retrying"  # an attempt failed; the next one is due
    failed = "failed"  # every attempt failed: the row stays, with the last error


class FanoutRun(PlatformBase):
    """One run of a periodic task over the tenants: how many it reached and how it went."""

    __tablename__ = "fanout_runs"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)  # the beat task's id
    task: Mapped[str] = mapped_column(String(100), nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    tenants: Mapped[int] = mapped_column(Integer, nullable=False)
    done: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    skipped: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")  # no longer active
    failed: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    # The tenants' counts added up (e.g. {"checked": 120, "breaches": 3}).
    totals: Mapped[dict[str, int]] = mapped_column(JSONB, nullable=False, server_default="{}")

    __table_args__ = (Index("ix_fanout_runs_task_started_at", "task", "started_at"),)

    @property
    def pending(self) -> int:
        return self.tenants - self.done - self.skipped - self.failed


class FanoutTenant(PlatformBase):
    """A tenant of a run that is not done: waiting, running, retrying, or failed for good."""

    __tablename__ = "fanout_tenants"

    run_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("fanout_runs.id", ondelete="CASCADE"), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(SLUG_MAX), primary_key=True)
    state: Mapped[TenantState] = mapped_column(str_enum(TenantState), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
