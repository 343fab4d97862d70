"""Loading and validating the rules file: every kind of mistake gives one line naming file and place."""

from __future__ import annotations

import pytest

from tracker.errors import ConfigError
from tracker.matcher import CATEGORY_CODES, DEFAULT_RULES_PATH, Matcher, load_rules


def minimal_rules(**overrides: str) -> str:
    """A small valid rules file; ``overrides`` replace the body of one category by code."""
    parts = ["version = 1", ""]
    for code in CATEGORY_CODES:
        body = overrides.get(code, 'phrases = ["zzz ' + code.replace("_", " ") + '"]')
        parts += [
            f"[categories.{code}]",
            'label = "x"',
            'default_direction = "expands"',
            f"[[categories.{code}.terms]]",
            body,
            "",
        ]
    return "\n".join(parts)


def write(tmp_path, text: str):
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_rules(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_shipped_rules_load_and_cover_the_taxonomy(rules):
    assert [c.code for c in rules.categories] == list(CATEGORY_CODES)
    assert all(c.terms for c in rules.categories)
    assert {n.code for n in rules.negatives} >= {
        "neg_sanctuary_other",
        "neg_ice_other",
        "neg_police_routine",
        "neg_federal_funding",
        "neg_task_force_nonimmigration",
        "neg_cbp_customs",
        "neg_immigration_benefits",
        "neg_heritage_ceremonial",
        "neg_shared_vocabulary",
    }
    assert load_rules(DEFAULT_RULES_PATH).path == str(DEFAULT_RULES_PATH)


def test_minimal_rules_are_valid(tmp_path):
    rules = load_rules(write(tmp_path, minimal_rules()))
    assert Matcher(rules).classify("zzz gang databases").categories == ["gang_databases"]


def test_bad_regex(tmp_path):
    text = minimal_rules(gang_databases="patterns = ['gang (database']")
    assert error_of(tmp_path, text).startswith(
        "rules.toml: category 'gang_databases': term 1: pattern 1: invalid regex: missing ), unterminated "
        "subpattern"
    )


def test_unknown_key(tmp_path):
    text = minimal_rules(legal_defense='phrases = ["x y"]\nwieght = 0.5')
    assert error_of(tmp_path, text) == (
        "rules.toml: category 'legal_defense': term 1: unknown key 'wieght' (allowed: caps_ambiguous, "
        "case_sensitive, context, direction, direction_priority, label, patterns, phrases, weight)"
    )


def test_unknown_category_code(tmp_path):
    text = minimal_rules() + '\n[categories.gang_database]\nlabel = "x"\n'
    assert error_of(tmp_path, text) == (
        "rules.toml: unknown category code 'gang_database' (the 16 codes of TAXONOMY.md only)"
    )


def test_unknown_category_code_in_a_cue(tmp_path):
    text = (
        minimal_rules()
        + '\n[[cues]]\nname = "c"\ndirection = "expands"\nphrases = ["end"]\ncategories = ["ice"]\n'
    )
    assert error_of(tmp_path, text) == "rules.toml: cue 'c': unknown category code 'ice' in 'categories'"


def test_missing_category(tmp_path):
    text = minimal_rules().replace("[categories.divest_reinvest]", "[categories.divest_reinvest_x]")
    assert "unknown category code 'divest_reinvest_x'" in error_of(tmp_path, text)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('phrases = ["x y"]\nweight = "high"', "term 1: 'weight' must be a number, not a string"),
        ('phrases = ["x y"]\nweight = true', "term 1: 'weight' must be a number, not a boolean"),
        ('phrases = ["x y"]\nweight = 1.5', "term 1: 'weight' must be between 0 and 1, not 1.5"),
        ('phrases = "x y"', "term 1: 'phrases' must be a list, not a string"),
        ('phrases = ["x y", 3]', "term 1: 'phrases' item 2 must be a string, not an integer"),
        (
            'phrases = ["x y"]\ndirection = "forward"',
            "term 1: 'direction' must be one of expands, restricts, neutral, not 'forward'",
        ),
        ('label = "only a label"', "term 1: needs at least one of 'phrases' or 'patterns'"),
        ("patterns = ['a?']", "term 1: pattern 1: pattern matches the empty string: 'a?'"),
    ],
)
def test_wrong_types_and_values(tmp_path, body, message):
    assert error_of(tmp_path, minimal_rules(police_accountability=body)) == (
        f"rules.toml: category 'police_accountability': {message}"
    )


def test_bad_negative(tmp_path):
    text = (
        minimal_rules() + '\n[[negatives]]\ncode = "ice_rink"\naction = "suppress"\nphrases = ["ice rink"]\n'
    )
    assert error_of(tmp_path, text) == (
        "rules.toml: negative 'ice_rink': code must look like 'neg_something' (lowercase, digits, "
        "underscores)"
    )
    text = minimal_rules() + '\n[[negatives]]\ncode = "neg_x"\naction = "drop"\nphrases = ["ice rink"]\n'
    assert (
        error_of(tmp_path, text)
        == "rules.toml: negative 'neg_x': 'action' must be one of suppress, veto, not 'drop'"
    )


def test_bad_settings(tmp_path):
    text = minimal_rules().replace("version = 1", "version = 1\n[settings]\nthreshold = 2")
    assert error_of(tmp_path, text) == "rules.toml: settings: 'threshold' must be between 0 and 1, not 2"
    text = minimal_rules().replace("version = 1", "version = 1\n[settings]\nfield_weights = { body = 0.5 }")
    assert error_of(tmp_path, text) == (
        "rules.toml: settings.field_weights: unknown field 'body' (allowed: title, name, text)"
    )


def test_version_and_syntax(tmp_path):
    assert error_of(tmp_path, minimal_rules().replace("version = 1", "version = 2")) == (
        "rules.toml: unsupported version 2 (this tracker reads version 1)"
    )
    assert error_of(tmp_path, "version = 1\n[categories\n").startswith("rules.toml: invalid TOML: ")
    assert error_of(tmp_path, "").startswith("rules.toml: missing key 'version'")


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path / "nope.toml")
    assert str(info.value) == f"nope.toml: rules file not found: {tmp_path / 'nope.toml'}"
