"""The matching rules: loaded from a commented TOML file, validated, compiled once.

The file is data an editor changes without touching Python (see ``docs/matching.md``). Loading is
intentionally strict: an unknown key, an unknown category code, a regex that does not compile or a value
of the wrong type is a :class:`~tracker.errors.ConfigError` with one line naming the file and the place,
for example ``rules.toml: category 'gang_databases': term 3: pattern 1: invalid regex: ...``.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.errors import ConfigError

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.toml")
#: Environment variable naming the rules file used for stored bills (ingest, `tracker match`, the crawl's
#: choice of attachment lists).
RULES_ENV = "TRACKER_RULES"


def rules_path() -> Path:
    """The rules file in use: ``$TRACKER_RULES``, else the shipped one."""
    return Path(os.environ.get(RULES_ENV) or DEFAULT_RULES_PATH)


#: The 16 categories of TAXONOMY.md, in its order. The rules file must define exactly these.
CATEGORY_CODES: tuple[str, ...] = (
    "sanctuary_declaration",
    "detainers_warrants",
    "federal_enforcement_partnerships",
    "ice_access_property",
    "detention_contracts",
    "data_privacy_status",
    "surveillance_technology",
    "gang_databases",
    "municipal_id_services",
    "legal_defense",
    "welcoming_language_access",
    "decriminalization_bail",
    "police_in_schools",
    "police_accountability",
    "divest_reinvest",
    "state_federal_advocacy",
)
DIRECTIONS: tuple[str, ...] = ("expands", "restricts", "neutral")
FIELDS: tuple[str, ...] = ("title", "name", "text")
NEGATIVE_ACTIONS: tuple[str, ...] = ("suppress", "veto")


@dataclass(frozen=True)
class Pattern:
    """One compiled phrase or regex, with the lowercase literal anchors used to skip it cheaply.

    ``anchors`` is a tuple of ``(lowercase text, starts_a_word)`` pairs; the pattern can only match a text
    that contains at least one of them, at the start of a word when ``starts_a_word`` (an empty tuple means
    "always try it").
    """

    source: str
    regex: re.Pattern[str]
    anchors: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class Term:
    """A group of phrases/patterns that signal one category."""

    category: str
    index: int  # 1-based position in the category's ``terms`` list, for messages and evidence
    patterns: tuple[Pattern, ...]
    weight: float
    direction: str | None
    direction_priority: float
    caps_ambiguous: bool
    context: tuple[Pattern, ...]
    label: str


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    default_direction: str
    requires_cue: bool
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Cue:
    name: str
    direction: str
    patterns: tuple[Pattern, ...]
    categories: frozenset[str]  # empty = every category
    exclude: frozenset[str]
    priority: float


@dataclass(frozen=True)
class Negative:
    code: str
    description: str
    action: str
    patterns: tuple[Pattern, ...]
    categories: frozenset[str]  # empty = every category
    unless: tuple[Pattern, ...]


@dataclass(frozen=True)
class Settings:
    threshold: float = 0.5
    category_min: float = 0.3
    proximity: int = 80
    caps_ambiguous_factor: float = 0.4
    field_weights: dict[str, float] = field(default_factory=lambda: {"title": 1.0, "name": 0.9, "text": 0.6})


@dataclass(frozen=True)
class Rules:
    path: str
    version: int
    settings: Settings
    categories: tuple[Category, ...]
    cues: tuple[Cue, ...]
    negatives: tuple[Negative, ...]

    def category(self, code: str) -> Category:
        for cat in self.categories:
            if cat.code == code:
                return cat
        raise KeyError(code)


# --------------------------------------------------------------------------------------------- loading


def load_rules(path: str | Path | None = None) -> Rules:
    """Read, validate and compile a rules file (default: the ``rules.toml`` shipped with the package)."""
    p = Path(path) if path is not None else DEFAULT_RULES_PATH
    name = p.name
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{name}: rules file not found: {p}") from None
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read rules file: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{name}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: invalid TOML: {exc}") from None
    return _Loader(name, str(p)).build(data)


class _Loader:
    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path

    def fail(self, where: str, problem: str) -> ConfigError:
        prefix = f"{self.name}: {where}: " if where else f"{self.name}: "
        return ConfigError(prefix + problem)

    # -- small typed accessors -----------------------------------------------------------------------
    def keys(self, table: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(where, f"unknown key '{key}' (allowed: {', '.join(sorted(allowed))})")

    def get(
        self, table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = ...
    ) -> Any:
        if key not in table:
            if default is ...:
                raise self.fail(where, f"missing key '{key}'")
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int subclass in Python: a weight of `true` is a mistake, not 1.0
        ok = not (isinstance(value, bool) and bool not in kinds) and isinstance(value, kinds)
        if not ok:
            names = (
                "a number"
                if set(kinds) == {int, float}
                else " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            )
            raise self.fail(where, f"'{key}' must be {names}, not {_describe(value)}")
        return value

    def strings(self, table: dict[str, Any], key: str, where: str) -> list[str]:
        values: list[str] = self.get(table, key, list, where, default=[])
        for i, v in enumerate(values, 1):
            if not isinstance(v, str):
                raise self.fail(where, f"'{key}' item {i} must be a string, not {_describe(v)}")
            if not v.strip():
                raise self.fail(where, f"'{key}' item {i} is empty")
        return values

    def number(
        self, table: dict[str, Any], key: str, where: str, default: float, lo: float, hi: float
    ) -> float:
        value = float(self.get(table, key, (int, float), where, default=default))
        if not lo <= value <= hi:
            raise self.fail(where, f"'{key}' must be between {lo:g} and {hi:g}, not {value:g}")
        return value

    def direction(self, table: dict[str, Any], key: str, where: str, required: bool) -> str | None:
        value: str | None = self.get(table, key, str, where, default=... if required else None)
        if value is not None and value not in DIRECTIONS:
            raise self.fail(where, f"'{key}' must be one of {', '.join(DIRECTIONS)}, not '{value}'")
        return value

    def category_set(self, table: dict[str, Any], key: str, where: str) -> frozenset[str]:
        codes = self.strings(table, key, where)
        for code in codes:
            if code not in CATEGORY_CODES:
                raise self.fail(where, f"unknown category code '{code}' in '{key}'")
        return frozenset(codes)

    def patterns(
        self,
        table: dict[str, Any],
        where: str,
        case_sensitive: bool = False,
        phrases_key: str = "phrases",
        patterns_key: str = "patterns",
    ) -> list[Pattern]:
        out: list[Pattern] = []
        for i, phrase in enumerate(self.strings(table, phrases_key, where), 1):
            out.append(
                _compile(phrase_to_regex(phrase), phrase, case_sensitive, self, f"{where}: phrase {i}")
            )
        for i, source in enumerate(self.strings(table, patterns_key, where), 1):
            out.append(_compile(source, source, case_sensitive, self, f"{where}: pattern {i}"))
        return out

    # -- sections ------------------------------------------------------------------------------------
    def build(self, data: dict[str, Any]) -> Rules:
        self.keys(data, {"version", "settings", "categories", "cues", "negatives"}, "")
        version = self.get(data, "version", int, "")
        if version != 1:
            raise self.fail("", f"unsupported version {version} (this tracker reads version 1)")
        settings = self.settings(self.get(data, "settings", dict, "", default={}))
        cats_table = self.get(data, "categories", dict, "")
        for code in cats_table:
            if code not in CATEGORY_CODES:
                raise self.fail("", f"unknown category code '{code}' (the 16 codes of TAXONOMY.md only)")
        missing = [c for c in CATEGORY_CODES if c not in cats_table]
        if missing:
            raise self.fail("", f"missing categories: {', '.join(missing)}")
        categories = tuple(self.category(code, cats_table[code]) for code in CATEGORY_CODES)
        cues = tuple(self.cue(i, c) for i, c in enumerate(self.get(data, "cues", list, "", default=[]), 1))
        negatives = tuple(
            self.negative(i, n) for i, n in enumerate(self.get(data, "negatives", list, "", default=[]), 1)
        )
        seen: set[str] = set()
        for neg in negatives:
            if neg.code in seen:
                raise self.fail(f"negative '{neg.code}'", "duplicate code")
            seen.add(neg.code)
        return Rules(self.path, version, settings, categories, cues, negatives)

    def settings(self, table: dict[str, Any]) -> Settings:
        where = "settings"
        self.keys(
            table, {"threshold", "category_min", "proximity", "caps_ambiguous_factor", "field_weights"}, where
        )
        weights = dict(Settings().field_weights)
        fw = self.get(table, "field_weights", dict, where, default={})
        for key in fw:
            if key not in FIELDS:
                raise self.fail(
                    f"{where}.field_weights", f"unknown field '{key}' (allowed: {', '.join(FIELDS)})"
                )
            weights[key] = self.number(fw, key, f"{where}.field_weights", 1.0, 0.0, 1.0)
        proximity = self.get(table, "proximity", int, where, default=80)
        if proximity < 0:
            raise self.fail(where, f"'proximity' must be 0 or more, not {proximity}")
        return Settings(
            threshold=self.number(table, "threshold", where, 0.5, 0.0, 1.0),
            category_min=self.number(table, "category_min", where, 0.3, 0.0, 1.0),
            proximity=proximity,
            caps_ambiguous_factor=self.number(table, "caps_ambiguous_factor", where, 0.4, 0.0, 1.0),
            field_weights=weights,
        )

    def category(self, code: str, table: Any) -> Category:
        where = f"category '{code}'"
        if not isinstance(table, dict):
            raise self.fail(where, f"must be a table, not {_describe(table)}")
        self.keys(table, {"label", "default_direction", "requires_cue", "terms"}, where)
        label = self.get(table, "label", str, where)
        default_direction = self.direction(table, "default_direction", where, required=True)
        requires_cue = self.get(table, "requires_cue", bool, where, default=False)
        raw_terms = self.get(table, "terms", list, where)
        if not raw_terms:
            raise self.fail(where, "'terms' is empty")
        terms = []
        for i, t in enumerate(raw_terms, 1):
            twhere = f"{where}: term {i}"
            if not isinstance(t, dict):
                raise self.fail(twhere, f"must be a table, not {_describe(t)}")
            self.keys(
                t,
                {
                    "label",
                    "phrases",
                    "patterns",
                    "weight",
                    "direction",
                    "direction_priority",
                    "case_sensitive",
                    "caps_ambiguous",
                    "context",
                },
                twhere,
            )
            case_sensitive = self.get(t, "case_sensitive", bool, twhere, default=False)
            pats = self.patterns(t, twhere, case_sensitive)
            if not pats:
                raise self.fail(twhere, "needs at least one of 'phrases' or 'patterns'")
            context = []
            for j, source in enumerate(self.strings(t, "context", twhere), 1):
                context.append(_compile(source, source, False, self, f"{twhere}: context {j}"))
            terms.append(
                Term(
                    category=code,
                    index=i,
                    patterns=tuple(pats),
                    weight=self.number(t, "weight", twhere, 0.8, 0.0, 1.0),
                    direction=self.direction(t, "direction", twhere, required=False),
                    direction_priority=self.number(t, "direction_priority", twhere, 0.0, 0.0, 10.0),
                    caps_ambiguous=self.get(t, "caps_ambiguous", bool, twhere, default=False),
                    context=tuple(context),
                    label=self.get(t, "label", str, twhere, default=""),
                )
            )
        return Category(code, label, default_direction or "neutral", requires_cue, tuple(terms))

    def cue(self, i: int, table: Any) -> Cue:
        where = f"cue {i}"
        if not isinstance(table, dict):
            raise self.fail(where, f"must be a table, not {_describe(table)}")
        name = table.get("name")
        if isinstance(name, str) and name:
            where = f"cue '{name}'"
        self.keys(
            table, {"name", "direction", "phrases", "patterns", "categories", "exclude", "priority"}, where
        )
        name = self.get(table, "name", str, where)
        pats = self.patterns(table, where)
        if not pats:
            raise self.fail(where, "needs at least one of 'phrases' or 'patterns'")
        return Cue(
            name=name,
            direction=self.direction(table, "direction", where, required=True) or "neutral",
            patterns=tuple(pats),
            categories=self.category_set(table, "categories", where),
            exclude=self.category_set(table, "exclude", where),
            priority=self.number(table, "priority", where, 1.0, 0.0, 10.0),
        )

    def negative(self, i: int, table: Any) -> Negative:
        where = f"negative {i}"
        if not isinstance(table, dict):
            raise self.fail(where, f"must be a table, not {_describe(table)}")
        code = table.get("code")
        if isinstance(code, str) and code:
            where = f"negative '{code}'"
        self.keys(
            table, {"code", "description", "action", "phrases", "patterns", "categories", "unless"}, where
        )
        code = self.get(table, "code", str, where)
        if not re.fullmatch(r"neg_[a-z0-9_]+", code):
            raise self.fail(where, "code must look like 'neg_something' (lowercase, digits, underscores)")
        action = self.get(table, "action", str, where)
        if action not in NEGATIVE_ACTIONS:
            raise self.fail(where, f"'action' must be one of {', '.join(NEGATIVE_ACTIONS)}, not '{action}'")
        pats = self.patterns(table, where)
        if not pats:
            raise self.fail(where, "needs at least one of 'phrases' or 'patterns'")
        unless = []
        for j, source in enumerate(self.strings(table, "unless", where), 1):
            unless.append(_compile(source, source, False, self, f"{where}: unless {j}"))
        return Negative(
            code=code,
            description=self.get(table, "description", str, where, default=""),
            action=action,
            patterns=tuple(pats),
            categories=self.category_set(table, "categories", where),
            unless=tuple(unless),
        )


_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a table",
}


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    for kind, text in (
        (str, "a string"),
        (int, "an integer"),
        (float, "a number"),
        (list, "a list"),
        (dict, "a table"),
    ):
        if isinstance(value, kind):
            return text
    return type(value).__name__


# ----------------------------------------------------------------------------------- phrase → regex

_WORD = re.compile(r"\w+", re.UNICODE)


def phrase_to_regex(phrase: str) -> str:
    """A literal phrase as a regex: case-insensitive (set at compile time), whole words, and any run of
    spaces, hyphens or slashes between words ("stop and frisk" matches "stop-and-frisk")."""
    words = phrase.split()
    parts = []
    for w in words:
        # separators inside a word ("non-local") may also vary
        sub = [re.escape(s) for s in re.split(r"[-/]", w) if s]
        parts.append(r"[\s\-/]*".join(sub) if len(sub) > 1 else (sub[0] if sub else re.escape(w)))
    body = r"[\s\-/]+".join(parts)
    first, last = phrase.strip()[0], phrase.strip()[-1]
    left = r"\b" if _WORD.match(first) else r"(?<!\w)"
    right = r"\b" if _WORD.match(last) else r"(?!\w)"
    return f"{left}{body}{right}"


def _compile(source: str, shown: str, case_sensitive: bool, loader: _Loader, where: str) -> Pattern:
    flags = 0 if case_sensitive else re.IGNORECASE
    try:
        regex = re.compile(source, flags)
    except re.error as exc:
        raise loader.fail(where, f"invalid regex: {exc}") from None
    if regex.search("") is not None:
        raise loader.fail(where, f"pattern matches the empty string: {shown!r}")
    return Pattern(source=shown, regex=regex, anchors=literal_anchors(source))


# --------------------------------------------------------------------------- literal anchors of a regex
#
# A cheap prefilter: most council titles match none of the rules, and trying a few hundred regexes on each
# of 20,000 titles is slow. For every pattern we find literal text that any match must contain (e.g. "detain"
# in r"\bdetain(er|ers)?\b"); a pattern is tried only on texts containing one of its anchors. The scan below
# understands just enough regex syntax to be safe: when unsure it returns no anchor, and the pattern is then
# always tried (correct, only slower).

_META = set(".^$*+?{}[]|()\\")
_MIN_ANCHOR = 2


def literal_anchors(source: str) -> tuple[tuple[str, bool], ...]:
    """``(lowercase literal, starts_a_word)`` pairs one of which every match of ``source`` contains;
    ``()`` when none is certain."""
    found = _alternatives_anchors(source, False)
    return tuple(sorted(found)) if found else ()


def _alternatives_anchors(source: str, at_word_start: bool) -> set[tuple[str, bool]] | None:
    branches = _split_top_level(source)
    if branches is None:
        return None
    out: set[tuple[str, bool]] = set()
    for branch in branches:
        best = _branch_anchors(branch, at_word_start)
        if not best:
            return None  # one branch without a safe literal: the pattern must always be tried
        out |= best
    return out


def _split_top_level(source: str) -> list[str] | None:
    depth, branches, cur, i = 0, [], [], 0
    in_class = False
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            cur.append(source[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            branches.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    if depth != 0 or in_class:
        return None
    branches.append("".join(cur))
    return branches


def _optional_quantifier(branch: str, i: int) -> bool:
    """Does the quantifier at ``branch[i]`` (if any) allow zero repetitions?"""
    if i >= len(branch):
        return False
    if branch[i] in "?*":
        return True
    if branch[i] == "{":
        m = re.match(r"\{(\d*)", branch[i:])
        return not m or not m.group(1) or int(m.group(1)) == 0
    return False


def _skip_quantifier(branch: str, i: int) -> int:
    if i < len(branch) and branch[i] == "{":
        close = branch.find("}", i)
        i = close + 1 if close != -1 else len(branch)
    elif i < len(branch) and branch[i] in "?*+":
        i += 1
    if i < len(branch) and branch[i] in "?+":  # lazy or possessive suffix
        i += 1
    return i


def _branch_anchors(branch: str, at_word_start: bool) -> set[tuple[str, bool]] | None:
    """The best anchor set among the mandatory literal runs and mandatory groups of one branch."""
    candidates: list[set[tuple[str, bool]]] = []
    run: list[str] = []
    boundary = at_word_start  # is the current position known to be the start of a word?
    run_at_boundary = False

    def flush() -> None:
        text = "".join(run)
        stripped = text.strip()
        if len(stripped) >= _MIN_ANCHOR:
            lead_space = text[0].isspace()
            starts_word = stripped[0].isalnum() and ((run_at_boundary and not lead_space) or lead_space)
            candidates.append({(stripped.lower(), starts_word)})
        run.clear()

    i = 0
    while i < len(branch):
        ch = branch[i]
        if ch == "(":
            flush()
            close = _matching_paren(branch, i)
            if close is None:
                return None
            inner = branch[i + 1 : close]
            after = close + 1
            optional = _optional_quantifier(branch, after)
            i = _skip_quantifier(branch, after)
            if inner.startswith(("?=", "?!", "?<=", "?<!")):
                if inner.startswith("?<!") and "\\w" in inner:
                    boundary = True  # (?<!\w) is a word boundary on the left
                continue
            m = re.match(r"\?(:|P<\w+>|[aiLmsux]*-?[imsx]*:)", inner)
            if optional or (inner.startswith("?") and not m):
                boundary = False
                continue
            content = inner[m.end() :] if m else inner
            sub = _alternatives_anchors(content, boundary)
            if sub and min(len(a) for a, _ in sub) >= _MIN_ANCHOR:
                candidates.append(sub)
            boundary = False
            continue
        if ch == "[":
            flush()
            close = branch.find("]", i + 2 if branch[i + 1 : i + 2] in ("]", "^") else i + 1)
            end = (close + 1) if close != -1 else len(branch)
            # after at least one character of a class of separators (e.g. [\s\-/]+), a word starts
            separators = close != -1 and re.fullmatch(r"(\\s|\\-|/|\\/|,|\\.|\.| |_)+", branch[i + 1 : close])
            boundary = bool(separators) and (end >= len(branch) or branch[end] not in "?*{")
            i = _skip_quantifier(branch, end)
            continue
        if ch == "\\":
            nxt = branch[i + 1 : i + 2]
            if nxt and not nxt.isalnum():
                literal = nxt
                i += 2
            else:  # \b, \s, \d, \w ...: not a literal
                flush()
                boundary = nxt == "b"
                i = _skip_quantifier(branch, i + 2)
                continue
        elif ch in _META:
            flush()
            boundary = ch == "^"
            i = _skip_quantifier(branch, i + 1) if ch not in "?*+{" else _skip_quantifier(branch, i)
            continue
        else:
            literal = ch
            i += 1
        if not run:
            run_at_boundary = boundary
        boundary = False
        if _optional_quantifier(branch, i):  # this character may be absent: the run ends before it
            flush()
            i = _skip_quantifier(branch, i)
            continue
        if i < len(branch) and branch[i] in "+{":
            run.append(literal)
            flush()
            i = _skip_quantifier(branch, i)
            continue
        run.append(literal)
    flush()
    if not candidates:
        return None
    # anchors at the start of a word are the cheapest to look up (see engine._AnchorIndex): prefer them
    return max(candidates, key=lambda c: min(len(a) for a, _ in c) + (2 if all(w for _, w in c) else 0))


def _matching_paren(text: str, i: int) -> int | None:
    depth, j, in_class = 0, i, False
    while j < len(text):
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return None
