"""Workflows as transition tables: every change of a record's state goes through one.

A domain declares, per move, the states it starts from and the states it may lead to::

    VISIT = Workflow("visit", {
        "record": ([VisitStatus.planned], [VisitStatus.visited]),
        "report": ([VisitStatus.visited], [VisitStatus.reported]),
        "cancel": ([VisitStatus.planned], [VisitStatus.cancelled]),
    })

    VISIT.require("report", visit.status, f"Visit {visit.number}")   # 409 unless it may
    visit.status = VISIT.to("report", visit.status, VisitStatus.reported, f"Visit {visit.number}")

A move refused by the table is the caller's conflict (409 ``conflict`` naming the states the
move needs); a move to a state the table does not allow is a bug in the domain (RuntimeError,
a 500), never a silent change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from app.core.problems import ProblemError

S = TypeVar("S", bound=Enum)


@dataclass(frozen=True)
class Move(Generic[S]):
    sources: frozenset[S]
    targets: frozenset[S]


class Workflow(Generic[S]):
    """The moves of one kind of record, each from some states to others."""

    def __init__(self, what: str, moves: Mapping[str, tuple[Iterable[S], Iterable[S]]]) -> None:
        self.what = what
        self.moves: dict[str, Move[S]] = {}
        for name, (sources, targets) in moves.items():
            move = Move(frozenset(sources), frozenset(targets))
            if not move.sources or not move.targets:
                raise ValueError(f"{what}: the move {name!r} needs states to start from and to lead to")
            self.moves[name] = move

    def can(self, move: str, state: S) -> bool:
        return state in self.moves[move].sources

    def allowed(self, state: S) -> list[str]:
        """The moves open from ``state``, in the table's order."""
        return [name for name, move in self.moves.items() if state in move.sources]

    def require(self, move: str, state: S, label: str, *, hint: str = "") -> None:
        """Refuse ``move`` from ``state`` with a 409 naming the states it needs; ``label`` names
        the record (``"Complaint TS-2026-000001"``), ``hint`` says what to do instead."""
        if not self.can(move, state):
            needs = " or ".join(sorted(s.value for s in self.moves[move].sources))
            raise ProblemError("conflict", f"{label} is {state.value}: {move.replace('_', ' ')} needs it to be "
                                           f"{needs}{'; ' + hint if hint else ''}.")

    def to(self, move: str, state: S, target: S, label: str, *, hint: str = "") -> S:
        """``target``, once ``move`` may take a record from ``state`` there."""
        self.require(move, state, label, hint=hint)
        if target not in self.moves[move].targets:
            raise RuntimeError(f"{self.what}: the move {move} does not lead to {target.value}")
        return target
