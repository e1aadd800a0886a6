"""What a new tenant starts with in the surveys domain: the standard satisfaction
questionnaire, one scale question per dimension of the documents and a remark. A group
that already has a questionnaire keeps what it has."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domains.surveys.models import Dimension, Questionnaire
from app.domains.surveys.schemas import QuestionnaireCreate, ScaleQuestion, TextQuestion
from app.domains.surveys.services import add_questionnaire
from app.tenants.seeding import seeder

if TYPE_CHECKING:
    from app.tenants.models import Tenant

STANDARD = QuestionnaireCreate(
    title="客户满意度调查 Customer satisfaction",
    description="The standard return-visit questionnaire: each answer from 1 (very dissatisfied) to 5 (very "
                "satisfied).",
    questions=[
        ScaleQuestion(text="您对房屋质量是否满意？ How satisfied are you with the quality of your home?",
                      dimension=Dimension.product_quality),
        ScaleQuestion(text="您对我们的服务是否满意？ How satisfied are you with our service?",
                      dimension=Dimension.service),
        ScaleQuestion(text="您对价格是否满意？ How satisfied are you with the price?", dimension=Dimension.price),
        ScaleQuestion(text="总体而言，您是否满意？ Overall, how satisfied are you?", dimension=Dimension.overall),
        TextQuestion(text="您还有什么意见或建议？ Anything else you would like to tell us?"),
    ],
)


@seeder("surveys.questionnaire", since="0007_relations")
async def seed_questionnaire(session: AsyncSession, tenant: Tenant) -> None:
    if await session.scalar(select(Questionnaire.id).limit(1)) is None:
        await add_questionnaire(session, STANDARD)
