"""The embedder reads WordLlama's files itself (tracker/matcher/embed.py, to spare each process the
``wordllama`` package's imports): its vectors must be exactly those of the library's own loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tracker.matcher.embed import BATCH, DIMENSIONS, MAX_TOKENS, Embedder, load_embedder, wordllama_package
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
