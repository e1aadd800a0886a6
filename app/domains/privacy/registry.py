"""Every domain's declaration of the personal data it holds (``Domain.personal``), read from
the domain list at call time (so a domain added later, or in a test, is included)."""

from __future__ import annotations

from app.core.personal import Holding, PersonalData, Retention


def declarations() -> list[PersonalData]:
    from app.domains import domains

    found = []
    for domain in domains():
        declared = domain.personal_data()
        if declared is not None:
            if not isinstance(declared, PersonalData):
                raise TypeError(f"domain {domain.name}: personal names a {type(declared).__name__}, "
                                f"not a PersonalData")
            found.append(declared)
    return found


def holdings() -> list[Holding]:
    """Every kind of record any domain keeps about a person; a kind declared twice is refused."""
    out: dict[str, Holding] = {}
    for declared in declarations():
        for holding in declared.holdings:
            if holding.kind in out:
                raise ValueError(f"personal data kind {holding.kind!r} declared twice")
            out[holding.kind] = holding
    return list(out.values())


def retention_kinds() -> dict[str, Retention]:
    out: dict[str, Retention] = {}
    for declared in declarations():
        for kind in declared.retention:
            if kind.kind in out:
                raise ValueError(f"retention kind {kind.kind!r} declared twice")
            out[kind.kind] = kind
    return out
