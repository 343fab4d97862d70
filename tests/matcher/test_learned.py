"""The learned layer: offline loading, a corrupt model falls back on the rules, the embedding cache, and the
arithmetic of ``evaluate`` (clear and borderline rows, per-jurisdiction groups)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import numpy as np
import pytest
from sqlalchemy import func, select

from db.engine import session_scope
from db.models_matcher import MatcherModel, TextEmbedding
from db.models_review import BillMatch
from tests.clock import utc_now
from tests.conftest import REPO, run_tracker, write_config
from tests.factories import DETAINERS, FLOCK, GANG, PARKING, RINK, add_bills
from tracker.errors import ConfigError
from tracker.matcher import Matcher, load_rules
from tracker.matcher.apply import LoadedRules, current_rules, match_stored
from tracker.matcher.embed import DIMENSIONS, Embedder, EmbeddingCache, load_embedder
from tracker.matcher.engine import MatchResult
from tracker.matcher.evaluate import evaluate, read_labelled, score
from tracker.matcher.hybrid import HybridMatcher
from tracker.matcher.learned import LearnedModel, load_shipped_model


@pytest.fixture(autouse=True)
def _hybrid(monkeypatch):
    """About the learned layer: a developer's TRACKER_MATCHER=rules must not switch it off."""
    monkeypatch.delenv("TRACKER_MATCHER", raising=False)
    monkeypatch.delenv("TRACKER_RULES", raising=False)


# -- 1. the model loads from the installed package with the network blocked -------------------------------

CHILD = """
import json
from tracker.matcher import Matcher, load_rules
from tracker.matcher.embed import load_embedder
from tracker.matcher.hybrid import HybridMatcher
from tracker.matcher.learned import load_shipped_model
embedder = load_embedder()
vector = embedder.encode(["Ordinance to prohibit the use of facial recognition technology"])[0]
model = load_shipped_model()
result = HybridMatcher(Matcher(load_rules()), model).classify(
    "Authorize a 3-year agreement with Flock Safety for automated license plate reader cameras")
print(json.dumps({"dims": len(vector), "norm": float((vector ** 2).sum() ** 0.5), "version": model.version,
                  "relevant": result.relevant, "learned": result.learned}))
"""


def _unshare_works() -> None:
    proc = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"`unshare -n` must work here (root in CI): {proc.stderr}"


@pytest.mark.parametrize("hf_offline", ["1", None], ids=["HF_HUB_OFFLINE=1", "HF_HUB_OFFLINE unset"])
def test_model_loads_offline_from_the_installed_package(hf_offline):
    _unshare_works()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.pop("TRACKER_MATCHER", None)
    if hf_offline:
        env["HF_HUB_OFFLINE"] = hf_offline
    # No network namespace at all: a fetch would fail, not hang. A fresh HOME: no cache of a previous run.
    env["HOME"] = str(REPO / ".nonexistent-home")
    env["XDG_CACHE_HOME"] = str(REPO / ".nonexistent-home" / ".cache")
    proc = subprocess.run(
        ["unshare", "-n", sys.executable, "-c", CHILD],
        capture_output=True, text=True, timeout=120, env=env, cwd=str(REPO), check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["dims"] == DIMENSIONS == 256
    assert abs(out["norm"] - 1.0) < 1e-2
    assert out["relevant"] is True
    assert out["learned"] is not None and 0.0 <= out["learned"]["probability"] <= 1.0
    assert out["learned"]["model"] == out["version"]
    assert not (REPO / ".nonexistent-home").exists()  # nothing was downloaded into a cache


# -- 2. a corrupt or missing model: one line, and the rules alone keep working ----------------------------


@pytest.mark.parametrize("data", [b"garbage", b"", b"PK\x03\x04" + b"\x00" * 40])
def test_corrupt_model_bytes_are_one_config_error_line(data):
    with pytest.raises(ConfigError) as info:
        LearnedModel.from_bytes(data, "#7 in the database")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("matcher model #7 in the database is unreadable (")


def test_truncated_and_missing_model_files_are_one_line(tmp_path):
    good = load_shipped_model()
    data = good.to_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConfigError) as info:
        load_shipped_model(cut)
    assert "\n" not in str(info.value) and "cut.npz" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_shipped_model(tmp_path / "absent.npz")
    assert str(info.value) == "matcher model absent.npz cannot be read: No such file or directory"
    # and the real one round-trips
    again = LearnedModel.from_bytes(data, "copy")
    assert again.hash == good.hash and len(again.examples) == len(good.examples)


def test_corrupt_active_model_row_matches_with_the_rules_and_warns_once(tmp_path, db_url, engine):
    titles = {"O-1": FLOCK, "O-2": RINK, "O-3": DETAINERS}
    ids = add_bills(engine, titles, match=False)
    with session_scope(engine) as s:
        s.add(MatcherModel(version="db-1", embedder="wordllama-l2_supercat-256", training_hash="0" * 64,
                           model_hash="f" * 64, examples=1, decisions=0, evaluation={}, data=b"garbage",
                           active=True, trained_at=utc_now(seconds=False)))  # fmt: skip
    cfg = write_config(tmp_path / "db.toml", [], database_url=db_url)
    proc = run_tracker("--config", str(cfg), "match", "--rescore")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if "unreadable" in line]
    assert len(warnings) == 1, proc.stderr
    assert "rules alone" in warnings[0] and "#1 in the database" in warnings[0]
    assert "Rescored 3 bills" in proc.stdout and ", model" not in proc.stdout
    rules = Matcher(load_rules())
    with session_scope(engine) as s:
        rows = {bid: s.get(BillMatch, bid) for bid in ids.values()}
        for ident, bid in ids.items():
            expected = rules.classify(titles[ident])
            assert rows[bid].relevant == expected.relevant
            assert rows[bid].score == pytest.approx(expected.score)
            assert rows[bid].learned is None  # the rules alone
        assert rows[ids["O-1"]].relevant and not rows[ids["O-2"]].relevant


# -- 3. the embedding cache hits on unchanged text --------------------------------------------------------


class CountingEmbedder(Embedder):
    """The real embedder, counting what it is asked to embed."""

    def __init__(self, real: Embedder) -> None:
        super().__init__(real.inference, real.name)
        self.calls = 0
        self.embedded: list[str] = []

    def encode(self, texts):
        self.calls += 1
        self.embedded += list(texts)
        return super().encode(texts)


TEXTS = [FLOCK, RINK, GANG, DETAINERS, FLOCK]  # one repeated


def _rows(engine) -> int:
    with session_scope(engine) as s:
        return int(s.scalar(select(func.count()).select_from(TextEmbedding)) or 0)


def test_embedding_cache_stores_and_hits(engine):
    counting = CountingEmbedder(load_embedder())
    first = EmbeddingCache(counting)
    with session_scope(engine) as s:
        v1 = first.encode(TEXTS, s)
    assert (first.misses, first.hits) == (4, 1)
    assert counting.embedded == [FLOCK, RINK, GANG, DETAINERS]
    assert _rows(engine) == 4
    assert v1.shape == (5, DIMENSIONS) and np.array_equal(v1[0], v1[4])

    second = EmbeddingCache(counting)
    counting.calls = 0
    with session_scope(engine) as s:
        v2 = second.encode(TEXTS, s)
    assert (second.hits, second.misses) == (len(TEXTS), 0)
    assert counting.calls == 0
    assert np.array_equal(v1, v2)
    # a fresh embedding of the same text is the same vector as the stored one
    assert np.array_equal(load_embedder().encode([GANG])[0], v2[2])

    with session_scope(engine) as s:
        second.encode([PARKING, GANG], s)
    assert counting.embedded[-1:] == [PARKING] and _rows(engine) == 5


def test_rescoring_twice_embeds_nothing_new(engine):
    add_bills(engine, {"O-1": FLOCK, "O-2": RINK, "O-3": GANG, "O-4": PARKING}, match=False)
    base = current_rules()
    assert base.hybrid is not None, "the learned layer must be on by default"
    counting = CountingEmbedder(load_embedder())

    def loaded() -> LoadedRules:  # a new cache each run, as a new `tracker match` process has
        hybrid = HybridMatcher(base.matcher, base.model, EmbeddingCache(counting))
        return LoadedRules(base.matcher, base.rules, base.path, base.hash, hybrid)

    first_rules = loaded()
    first = match_stored(engine, rescore=True, rules=first_rules)
    assert first.classified == 4
    assert first_rules.hybrid.cache.misses == 4 and len(counting.embedded) == 4
    stored = _rows(engine)
    assert stored == 4
    with session_scope(engine) as s:
        before = {m.bill_id: (m.score, m.relevant, m.learned) for m in s.scalars(select(BillMatch))}
    assert all(v[2] is not None for v in before.values())

    second_rules = loaded()
    second = match_stored(engine, rescore=True, rules=second_rules)
    assert second.classified == 4
    assert (second_rules.hybrid.cache.hits, second_rules.hybrid.cache.misses) == (4, 0)
    assert len(counting.embedded) == 4 and _rows(engine) == stored
    with session_scope(engine) as s:
        after = {m.bill_id: (m.score, m.relevant, m.learned) for m in s.scalars(select(BillMatch))}
    assert after == before  # the same vectors give exactly the same scores


# -- 5. evaluate's arithmetic on a small file -------------------------------------------------------------


@dataclass
class FixedMatcher:
    """Returns a fixed result per title: the input of the code under test."""

    answers: dict[str, MatchResult]

    def classify_many(self, titles):
        return [self.answers[t] for t in titles]


def _r(relevant: bool, category: str | None = None, direction: str | None = None) -> MatchResult:
    return MatchResult(relevant, 0.9 if relevant else 0.1, [category] if category else [], direction, [], {})


EVAL_CSV = """title,relevant,category,direction,note,jurisdiction,source
A tp right,1,surveillance_technology,restricts,,Alpha,s1
B tp wrong direction,1,sanctuary_declaration,expands,,Alpha,s2
C false negative,1,detainers_warrants,expands,,Beta,s3
D false positive,0,,,,Beta,s4
E true negative,0,,,,Beta,s5
F borderline fp,0,,,could go either way,Alpha,s6
G borderline tp,1,gang_databases,restricts,an editor might reject,Beta,s7
"""

EVAL_ANSWERS = {
    "A tp right": _r(True, "surveillance_technology", "restricts"),
    "B tp wrong direction": _r(True, "sanctuary_declaration", "restricts"),
    "C false negative": _r(False),
    "D false positive": _r(True, "police_accountability", "expands"),
    "E true negative": _r(False),
    "F borderline fp": _r(True, "detainers_warrants", "expands"),
    "G borderline tp": _r(True, "gang_databases", "restricts"),
}


@pytest.mark.parametrize("sep", [",", "\t"], ids=["csv", "tsv"])
def test_evaluate_arithmetic(tmp_path, sep):
    text = EVAL_CSV if sep == "," else EVAL_CSV.replace(",", "\t")
    path = tmp_path / ("set.csv" if sep == "," else "set.tsv")
    path.write_text(text, encoding="utf-8")
    items = read_labelled(path)
    assert [i.borderline for i in items] == [False] * 5 + [True] * 2
    report = evaluate(path, FixedMatcher(EVAL_ANSWERS))
    # clear rows only: A, B tp; C fn; D fp; E tn
    assert (report.total, report.gold_relevant) == (5, 3)
    assert (report.tp, report.fp, report.fn, report.tn) == (2, 1, 1, 1)
    assert report.precision == pytest.approx(2 / 3, abs=1e-4)
    assert report.recall == pytest.approx(2 / 3, abs=1e-4)
    assert report.f1 == pytest.approx(2 / 3, abs=1e-4)
    assert report.category_accuracy == 1.0 and report.direction_accuracy == 0.5
    assert sorted(m.kind for m in report.misses) == [
        "false negative", "false positive", "wrong direction"
    ]  # fmt: skip
    assert report.borderline == 2
    border = report.groups["borderline rows"]
    assert (border.total, border.tp, border.fp, border.fn, border.tn) == (2, 1, 1, 0, 0)
    assert border.precision == 0.5 and border.recall == 1.0
    alpha, beta = report.groups["Alpha (clear rows)"], report.groups["Beta (clear rows)"]
    assert (alpha.total, alpha.tp, alpha.fp, alpha.fn, alpha.tn) == (2, 2, 0, 0, 0)
    assert (beta.total, beta.tp, beta.fp, beta.fn, beta.tn) == (3, 0, 1, 1, 1)
    assert beta.precision == 0.0 and beta.recall == 0.0 and beta.f1 == 0.0
    assert set(report.groups) == {"borderline rows", "Alpha (clear rows)", "Beta (clear rows)"}
    # printed: a rate that counts nothing is "n/a" (Alpha has no false negative to miss and no true negative;
    # Beta has no true positive, so no category or direction to be right), a rate of zero is 0.000
    text = report.text()
    assert "  Alpha (clear rows): P 1.000  R 1.000  F1 1.000  (tp 2, fp 0, fn 0; 2 rows, 2 relevant)" in text
    beta_line = "  Beta (clear rows): P 0.000  R 0.000  F1 0.000  (tp 0, fp 1, fn 1; 3 rows, 1 relevant)"
    assert f"{beta_line}  category n/a  direction n/a" in text
    nothing = score([items[4]], [EVAL_ANSWERS[items[4].title]])  # one true negative
    assert nothing.summary() == (
        "P n/a  R n/a  F1 n/a  (tp 0, fp 0, fn 0; 1 rows, 0 relevant)  category n/a  direction n/a"
    )
    # score() on its own agrees with the headline figures
    clear = [i for i in items if not i.borderline]
    direct = score(clear, [EVAL_ANSWERS[i.title] for i in clear])
    assert (direct.tp, direct.fp, direct.fn, direct.tn) == (2, 1, 1, 1)


# -- 7. classify and evaluate use the learned layer unless --rules-only -----------------------------------

ALPR = "Lease of Automated License Plate Readers (ALPR) from Flock Group, Inc."


def test_classify_json_default_is_hybrid_and_rules_only_is_the_rules():
    from click.testing import CliRunner

    from tracker.cli.matcher import classify

    hybrid = json.loads(CliRunner().invoke(classify, ["--json", ALPR]).output)
    assert hybrid["learned"]["model"] == load_shipped_model().version
    assert hybrid["score"] == hybrid["learned"]["probability"]
    assert hybrid["learned"]["direction_reason"]
    rules = json.loads(CliRunner().invoke(classify, ["--json", "--rules-only", ALPR]).output)
    assert rules["learned"] is None
    assert rules["score"] == Matcher(load_rules()).classify(ALPR).score


def test_evaluate_default_is_hybrid(tmp_path):
    from click.testing import CliRunner

    from tracker.cli.matcher import evaluate as evaluate_command

    path = tmp_path / "set.csv"
    path.write_text(
        "title,relevant,category,direction\n"
        f'"{ALPR}",1,surveillance_technology,restricts\nIce Arena Commission Update,0,,\n',
        encoding="utf-8",
    )
    both = json.loads(CliRunner().invoke(evaluate_command, [str(path), "--json"]).output)
    rules = json.loads(CliRunner().invoke(evaluate_command, [str(path), "--json", "--rules-only"]).output)
    assert (both["tp"], both["tn"]) == (rules["tp"], rules["tn"]) == (1, 1)


def test_unreadable_shipped_model_is_one_warning_and_the_rules(tmp_path, monkeypatch, capsys):
    from tracker.cli.matcher import make_matcher
    from tracker.matcher import learned

    bad = tmp_path / "model.npz"
    bad.write_bytes(b"garbage")
    monkeypatch.setattr(learned.load_shipped_model, "__defaults__", (bad,))
    matcher = make_matcher(None, rules_only=False)
    err = capsys.readouterr().err
    assert isinstance(matcher, Matcher)
    assert err.count("\n") == 1 and err.startswith("Warning: matcher model model.npz is unreadable (")
    assert err.rstrip().endswith("; matching with the rules alone")
    assert matcher.classify(ALPR).relevant


def test_a_rules_match_found_in_the_documents_stands_whatever_the_title_model_says():
    """The model reads titles only: it may overrule a rules match found in the title, never one found in a
    bill's documents (tracker/matcher/learned.py)."""
    from tracker.matcher import Matcher, load_rules
    from tracker.matcher.hybrid import HybridMatcher
    from tracker.matcher.learned import load_shipped_model

    hybrid = HybridMatcher(Matcher(load_rules()), load_shipped_model())
    title = "Ordinance establishing residential permit parking Zone 3 on Old Mill Road"
    text = "Section 2. No City resources shall be used to honor civil immigration detainer requests."
    plain = hybrid.classify(title)
    assert not plain.relevant and plain.learned["probability"] < 0.2
    with_text = hybrid.classify(title, text=text)
    assert with_text.relevant and with_text.categories[0] == "detainers_warrants"
    assert any(e.field == "text" for e in with_text.evidence)
    # nor is it "uncertain" when the model's probability is near 0.2: that probability does not decide it
    # (it was marked uncertain until 2026-12-07); a model whose probability is 0.15 for every title:
    import math

    from tracker.matcher.learned import Linear

    flat = load_shipped_model()
    rel = flat.relevance
    flat.relevance = Linear(
        np.zeros_like(rel.coef), np.full_like(rel.intercept, math.log(0.15 / 0.85)), rel.classes
    )
    unsure = HybridMatcher(Matcher(load_rules()), flat).classify(title, text=text)
    assert unsure.relevant and unsure.learned["probability"] == 0.15 and not unsure.uncertain


# -- the most similar labelled titles ------------------------------------------------------------------------


def test_most_similar_is_each_rows_stable_sort_ties_included():
    from tracker.matcher.learned import most_similar

    rng = np.random.default_rng(7)
    for _ in range(300):
        # Few distinct values: ties inside the top three and across its edge.
        sims = rng.integers(0, 4, size=(rng.integers(1, 30), rng.integers(1, 12))).astype(np.float32)
        expected = np.argsort(-sims, axis=1, kind="stable")[:, :3]
        assert np.array_equal(most_similar(sims, 3), expected), sims


def test_the_similar_titles_are_the_nearest_labelled_examples_in_every_slice(monkeypatch):
    """The evidence "like: ..." names the labelled examples closest to the title, however many titles are
    classified at once (the titles are compared with the examples in slices of SIMILARITY_ROWS)."""
    from tracker.matcher import learned

    items = read_labelled(REPO / "tracker/matcher/devset/holdout.csv")[:7]
    titles = [i.title for i in items]
    model = load_shipped_model()
    vectors = load_embedder().encode(titles)
    results = Matcher(load_rules()).classify_many(titles)
    monkeypatch.setattr(learned, "SIMILARITY_ROWS", 3)
    predictions = model.predict(vectors, results)
    examples = model.example_vectors.astype(np.float32)
    for vector, prediction in zip(vectors, predictions, strict=True):
        closeness = examples @ vector
        third = np.sort(closeness)[-3]
        assert len(prediction.similar) == learned.SIMILAR == 3
        values = [value for value, _ in prediction.similar]
        assert values == sorted(values, reverse=True)
        assert values[-1] == pytest.approx(third, abs=1e-5)
        for value, example in prediction.similar:
            j = model.examples.index(example)
            assert closeness[j] == pytest.approx(value, abs=1e-5)
