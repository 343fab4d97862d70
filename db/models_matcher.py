"""The matcher's learned layer in the database: trained models and the embedding cache.

- ``matcher_models``: every model ``tracker match --train`` trained, with its version, the SHA-256 of its
  training data, how many shipped examples and editors' decisions it learned from, its evaluation and the
  model itself (numpy arrays, never a pickle). The newest ``active`` row is the one the tracker uses; with
  none, the model shipped in ``tracker/matcher/model/`` is used.
- ``text_embeddings``: sentence vectors by (embedder name, SHA-256 of the exact text), float16, so that a
  rescore embeds only text never embedded before.

See docs/matching.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base
from db.types import utcnow


class MatcherModel(Base):
    __tablename__ = "matcher_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    embedder: Mapped[str] = mapped_column(String(100))
    training_hash: Mapped[str] = mapped_column(String(64))
    model_hash: Mapped[str] = mapped_column(String(64))
    examples: Mapped[int] = mapped_column(Integer)
    decisions: Mapped[int] = mapped_column(Integer)  # editors' decisions among the examples
    evaluation: Mapped[dict[str, Any]]
    data: Mapped[bytes] = mapped_column(LargeBinary)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
    trained_by: Mapped[str | None] = mapped_column(String(200))


class TextEmbedding(Base):
    __tablename__ = "text_embeddings"

    model: Mapped[str] = mapped_column(String(100), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
