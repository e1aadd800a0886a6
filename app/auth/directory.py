"""Accounts a request names (a new owner, an approver, an assignee): resolved in the caller's
tenant, since accounts live in the shared schema where every tenant's ids exist.

An id that is no account of the tenant (another tenant's, or nobody's) answers 404 naming
the field, exactly as an id that never existed; an account of the tenant that cannot play
the part (an owner where staff is needed, a disabled one) answers 422 naming the field.
Domains check further what their part needs (a permission at a node) themselves.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account, AccountKind, AccountStatus
from app.core.problems import ProblemError, field_error
from app.tenants.bound import tenant_id


async def tenant_account(session: AsyncSession, account_id: uuid.UUID, field: str, *,
                         kind: AccountKind = AccountKind.staff) -> Account:
    """The active ``kind`` account ``account_id`` of the session's tenant."""
    account = await session.scalar(select(Account).where(Account.id == account_id,
                                                         Account.tenant_id == await tenant_id(session)))
    if account is None:
        raise ProblemError("not-found", f"No account with id {account_id} in this group.",
                           errors=[field_error(field, "no such account in this group")])
    if account.kind is not kind:
        raise ProblemError("validation", f"The account {account_id} is not a {kind.value} account.",
                           errors=[field_error(field, f"not a {kind.value} account")])
    if account.status is not AccountStatus.active:
        raise ProblemError("validation", f"The account {account_id} is {account.status.value}.",
                           errors=[field_error(field, f"the account is {account.status.value}")])
    return account


async def staff_subject(session: AsyncSession, account_id: uuid.UUID, field: str) -> str:
    """An active staff account of the session's tenant, as the subject id records keep."""
    return str((await tenant_account(session, account_id, field)).id)
