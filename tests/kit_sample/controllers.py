from litestar import get
from litestar.di import Provide
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.scopes import requires
from app.core.deps import provide_tenant_session
from app.domains.approvals.registry import request_type
from tests.kit_sample.models import KitNote


@get("/api/v1/kit-notes", operation_id="listKitNotes", summary="The kit notes", tags=["Kit notes"],
     dependencies={"session": Provide(provide_tenant_session)}, **requires("kitnotes:read"))
async def list_kit_notes(session: AsyncSession) -> list[str]:
    return list((await session.scalars(select(KitNote.text).order_by(KitNote.text))).all())


CONTROLLERS = [list_kit_notes]
REQUEST_TYPES = [request_type("kitnotes_review", "Review of a kit note")]
