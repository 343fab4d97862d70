"""Every model module, imported so that ``Base.metadata`` knows all tables (Alembic's autogenerate and
``alembic check`` compare against it). A new model module adds one import here."""

import db.models_digest
import db.models_documents
import db.models_review
import db.models_web  # noqa: F401
from db.models import Base

__all__ = ["Base"]
