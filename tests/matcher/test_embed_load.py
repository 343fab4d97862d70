"""The embedder reads WordLlama's files itself (tracker/matcher/embed.py, to spare each process the
``wordllama`` package's imports): its vectors must be exactly those of the library's own loader, and files
it cannot read are one line when a vector is first needed, with nothing stored changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from db.engine import session_scope
from tests.factories import GANG, PARKING, add_bills, stored_matches
from tracker.errors import ConfigError
from tracker.matcher import embed
from tracker.matcher.apply import current_rules, match_bills
from tracker.matcher.embed import (
    BATCH,
    DIMENSIONS,
    MAX_TOKENS,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
    Embedder,
    load_embedder,
    wordllama_package,
)
from tracker.matcher.evaluate import read_labelled

DEV = Path(__file__).resolve().parents[2] / "tracker" / "matcher" / "devset" / "dev.csv"


def test_vectors_are_those_of_wordllama_load():
    from wordllama import WordLlama

    library = WordLlama.load(
        config="l2_supercat", dim=DIMENSIONS, cache_dir=wordllama_package(), disable_download=True
    )
    library.tokenizer.enable_truncation(MAX_TOKENS)
    texts = [*(item.title for item in read_labelled(DEV)), "", "x " * 1000, "Résolution — ¿Sí? 市議会 🚓"]
    assert len(texts) > BATCH * 2  # several batches, with padding inside each
    ours = load_embedder()
    raw = ours.inference.embed(texts, norm=False, batch_size=BATCH)
    expected = library.embed(texts, norm=False, batch_size=BATCH)
    assert raw.dtype == expected.dtype == np.float32
    assert raw.shape == expected.shape == (len(texts), DIMENSIONS)
    assert np.array_equal(raw, expected)
    assert np.array_equal(ours.encode(texts), Embedder(library).encode(texts))


@pytest.mark.parametrize("damage", ["missing", "garbage"])
def test_unreadable_embedding_files_are_one_line_when_first_needed(engine, tmp_path, monkeypatch, damage):
    """The package's files gone, or its weights garbage: one ConfigError line when the matcher first needs a
    vector (the embedder is loaded on first use; the rules and the model still load), and a rescore that
    meets it changes nothing stored."""
    monkeypatch.delenv("TRACKER_RULES", raising=False)
    monkeypatch.delenv("TRACKER_MATCHER", raising=False)
    ids = add_bills(engine, {"O1": GANG, "O2": PARKING})
    before = stored_matches(engine)
    package = tmp_path / "wordllama"
    package.mkdir()
    if damage == "garbage":
        for name in (TOKENIZER_FILE, WEIGHTS_FILE):
            (package / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(wordllama_package() / TOKENIZER_FILE, package / TOKENIZER_FILE)
        (package / WEIGHTS_FILE).write_bytes(b"not a safetensors file")
    monkeypatch.setattr(embed, "wordllama_package", lambda: package)
    monkeypatch.setattr(embed, "_LOADED", None)
    monkeypatch.setattr("tracker.matcher.apply._CACHE", {})  # the matcher as a new process loads it

    with pytest.raises(ConfigError) as raised:
        load_embedder()
    line = str(raised.value)
    assert "\n" not in line and line.startswith(f"the embedding model could not be loaded from {package}: ")
    loaded = current_rules()
    assert loaded.hybrid is not None and loaded.hybrid.model is not None
    assert loaded.hybrid.classify_items([]) == []
    with (
        pytest.raises(ConfigError, match=r"^the embedding model could not be loaded"),
        session_scope(engine) as s,
    ):
        match_bills(s, ids.values(), rescore=True)
    assert stored_matches(engine) == before
