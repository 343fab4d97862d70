"""Every model module, imported so that ``Base.metadata`` knows all tables (Alembic's autogenerate and
``alembic check`` compare against it). A new model module adds one import here."""

import db.models_digest
import db.models_documents
import db.models_matcher
import db.models_meetings
import db.models_review
import db.models_web  # noqa: F401
from db.models import Base

__all__ = ["Base"]


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """What the models-vs-migrations comparison (``alembic check``, tests) looks at: everything but the
    dialect-specific search indexes of migration 0007 (named ``ix_search_*``), which no model declares."""
    return not (type_ == "index" and name is not None and name.startswith("ix_search_"))
