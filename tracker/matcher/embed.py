"""Sentence embeddings for the learned layer of the matcher, computed offline.

The embedding model is WordLlama's ``l2_supercat`` (256 dimensions, MIT licence): static token embeddings
distilled from a large language model, average-pooled over a title. Its weights (16 MB) and tokenizer ship
inside the ``wordllama`` wheel from the package registry; :func:`load_embedder` reads those two files from
the installed package, so nothing is fetched at run time. docs/matching.md records why this model was chosen
over all-MiniLM-L6-v2 (measured on councils held out of training).

The files are read with ``tokenizers`` and ``safetensors`` (wordllama's own dependencies) and pooled by
:class:`StaticEmbeddings`, the same arithmetic as ``wordllama.WordLlamaInference.embed``, without importing
the ``wordllama`` package: its ``__init__`` imports requests, pydantic and its training configuration and
calls ``logging.basicConfig``, which cost a tracker process more CPU than the model itself (0.39 s against
0.14 s). tests/matcher/test_embed_load.py checks that the vectors are those of ``WordLlama.load``.

The :class:`EmbeddingCache` keeps vectors keyed by the SHA-256 of the exact text and the model's name, so a
rescore embeds only text it has never embedded before.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tracker.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

#: The name stored with every cached vector and every trained model: a model trained on one embedder's
#: vectors is never applied to another's.
EMBEDDER_NAME = "wordllama-l2_supercat-256"
DIMENSIONS = 256
#: Tokens read per text: titles are short; a long text's first tokens carry its subject, and the cap bounds
#: the memory of a batch (batch x tokens x 256 floats).
MAX_TOKENS = 256
BATCH = 64


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


#: The files of the model inside the installed ``wordllama`` package (where ``WordLlama.load`` finds them).
WEIGHTS_FILE = "weights/l2_supercat_256.safetensors"
TOKENIZER_FILE = "tokenizers/l2_supercat_tokenizer_config.json"
TENSOR_KEY = "embedding.weight"


class StaticEmbeddings:
    """Token embeddings average-pooled over a text's tokens: ``wordllama.WordLlamaInference.embed`` (dense,
    pooled) for the one model the tracker uses."""

    def __init__(self, embedding: np.ndarray, tokenizer: Any) -> None:
        self.embedding = np.ascontiguousarray(embedding.astype(np.float32))
        self.tokenizer = tokenizer
        self.tokenizer.enable_padding()
        self.tokenizer.no_truncation()

    def embed(self, texts: list[str], norm: bool = False, batch_size: int = BATCH) -> np.ndarray:
        out = np.empty((len(texts), self.embedding.shape[1]), dtype=np.float32)
        for i in range(0, len(texts), batch_size):
            encoded = self.tokenizer.encode_batch(
                texts[i : i + batch_size], is_pretokenized=False, add_special_tokens=False
            )
            ids = np.array([e.ids for e in encoded], dtype=np.int32)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
            np.clip(ids, 0, self.embedding.shape[0] - 1, out=ids)
            tokens = self.embedding[ids]
            count = np.maximum(mask.sum(axis=1, keepdims=True), 1.0).astype(np.float32)
            pooled = np.sum(tokens * mask[..., np.newaxis], axis=1, dtype=np.float32) / count
            if norm:
                pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
            out[i : i + pooled.shape[0]] = pooled
        return out


@dataclass
class Embedder:
    """Unit-length sentence vectors (float32, ``DIMENSIONS`` wide) for a list of texts."""

    inference: Any
    name: str = EMBEDDER_NAME

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        out = np.asarray(self.inference.embed(list(texts), norm=False, batch_size=BATCH), dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0  # an empty text embeds to zeros, not NaN
        # Rounded to float16 as the cache stores them: a cached vector and a fresh one are the same vector,
        # so a rescore from the cache gives exactly the scores of a first run.
        vectors: np.ndarray = (out / norms).astype(np.float16).astype(np.float32)
        return vectors


_LOCK = threading.Lock()
_LOADED: Embedder | None = None


def wordllama_package() -> Path:
    """The installed ``wordllama`` package's directory, found without importing the package."""
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the embedding model is not installed (no wordllama package)")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def load_embedder() -> Embedder:
    """The embedder, loaded once per process from the installed ``wordllama`` package (no downloads).

    Raises :class:`ConfigError` with one line when the package or its weights are missing or unreadable.
    """
    global _LOADED
    with _LOCK:
        if _LOADED is not None:
            return _LOADED
        package = wordllama_package()
        try:
            from safetensors import safe_open
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(package / TOKENIZER_FILE))
            with safe_open(str(package / WEIGHTS_FILE), framework="np", device="cpu") as f:
                embedding = f.get_tensor(TENSOR_KEY)
        except Exception as exc:  # safetensors/tokenizers errors have no common base class
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(f"the embedding model could not be loaded from {package}: {first}") from exc
        if embedding.ndim != 2 or embedding.shape[1] != DIMENSIONS:
            shape = "x".join(map(str, embedding.shape))
            raise ConfigError(f"the embedding model in {package} is {shape}, not {DIMENSIONS} wide")
        inference = StaticEmbeddings(embedding, tokenizer)
        inference.tokenizer.enable_truncation(MAX_TOKENS)
        _LOADED = Embedder(inference)
        return _LOADED


class EmbeddingCache:
    """Vectors by text hash: in memory for one process, and in the ``text_embeddings`` table when a session
    is given, so that rescoring a stored database embeds only text never embedded before."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.memory: dict[str, np.ndarray] = {}
        self.hits = 0
        self.misses = 0

    def encode(self, texts: Sequence[str], session: Session | None = None) -> np.ndarray:
        keys = [text_hash(t) for t in texts]
        wanted = {k for k in keys if k not in self.memory}
        if wanted and session is not None:
            self.memory.update(_load_vectors(session, self.embedder.name, wanted))
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in self.memory and key not in missing:
                missing[key] = text
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            vectors = self.embedder.encode(list(missing.values()))
            fresh = dict(zip(missing, vectors, strict=True))
            self.memory.update(fresh)
            if session is not None:
                _store_vectors(session, self.embedder.name, fresh)
        if len(self.memory) > 200_000:  # a long-running process: keep memory bounded
            keep = set(keys)
            self.memory = {k: v for k, v in self.memory.items() if k in keep}
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack([self.memory[k] for k in keys])


def _load_vectors(session: Session, model: str, keys: set[str]) -> dict[str, np.ndarray]:
    from sqlalchemy import select

    from db.models_matcher import TextEmbedding

    found: dict[str, np.ndarray] = {}
    ordered = sorted(keys)
    for i in range(0, len(ordered), 500):
        rows = session.execute(
            select(TextEmbedding.text_hash, TextEmbedding.vector).where(
                TextEmbedding.model == model, TextEmbedding.text_hash.in_(ordered[i : i + 500])
            )
        )
        for key, blob in rows:
            vector = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
            if vector.shape == (DIMENSIONS,):
                found[key] = vector
    return found


def _store_vectors(session: Session, model: str, vectors: dict[str, np.ndarray]) -> None:
    from db.engine import insert_ignore
    from db.models_matcher import TextEmbedding

    rows = [
        {"model": model, "text_hash": key, "vector": vector.astype(np.float16).tobytes()}
        for key, vector in vectors.items()
    ]
    for i in range(0, len(rows), 500):
        session.execute(insert_ignore(session, TextEmbedding).values(rows[i : i + 500]))
