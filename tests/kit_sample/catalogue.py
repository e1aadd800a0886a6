from tests.routes import Ctx, Factory, Made


async def _notes(ctx: Ctx) -> Made:
    return Made(params={}, values=[], url=None)


FACTORIES: dict[str, Factory] = {"/api/v1/kit-notes": _notes}
