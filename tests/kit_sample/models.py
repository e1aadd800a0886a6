from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.models import IdMixin, TenantBase


class KitNote(IdMixin, TenantBase):
    __tablename__ = "kit_notes"

    text: Mapped[str] = mapped_column(String(200), nullable=False)
