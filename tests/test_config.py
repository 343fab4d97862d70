from __future__ import annotations

import pytest

from tests.conftest import REPO, run_tracker, write_config
from tracker.config import load_config
from tracker.errors import ConfigError

GOOD = {
    "slug": "seattle",
    "name": "Seattle City Council",
    "platform": "legistar",
    "client": "seattle",
    "web_base": "https://seattle.legistar.com",
    "timezone": "America/Los_Angeles",
}


def test_shipped_config_lists_real_legistar_cities():
    config = load_config(REPO / "tracker.toml")
    slugs = {j.slug for j in config.jurisdictions}
    assert {"seattle", "oakland", "nyc", "sf"} <= slugs
    nyc = config.jurisdiction("nyc")
    assert nyc.token_env == "LEGISTAR_NYC_TOKEN"
    assert nyc.web_base == "https://legistar.council.nyc.gov"
    legistar = [j for j in config.jurisdictions if j.platform == "legistar"]
    assert all(j.api_base == "https://webapi.legistar.com/v1" for j in legistar)


def test_shipped_config_lists_a_real_city_on_every_platform():
    from tracker.platforms import PLATFORMS

    config = load_config(REPO / "tracker.toml")
    assert {j.platform for j in config.jurisdictions} == set(PLATFORMS)
    assert config.jurisdiction("chicago").platform == "elms"
    assert config.jurisdiction("los-angeles").source_key == "primegov:lacity"
    assert config.jurisdiction("south-fulton").hosts == {
        "southfultonga.api.civicclerk.com",
        "southfultonga.portal.civicclerk.com",
    }
    assert config.documents.after_crawl


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("TRACKER_DATABASE_URL", raising=False)
    config = load_config(write_config(tmp_path / "t.toml", [GOOD]))
    j = config.jurisdiction("seattle")
    assert j.api_base == "https://webapi.legistar.com/v1"
    assert config.database_url == "sqlite:///tracker.db"
    monkeypatch.setenv("TRACKER_DATABASE_URL", "sqlite:////tmp/x.db")
    assert config.database_url == "sqlite:////tmp/x.db"


def test_config_location_from_environment(tmp_path, monkeypatch):
    path = write_config(tmp_path / "elsewhere.toml", [GOOD])
    monkeypatch.setenv("TRACKER_CONFIG", str(path))
    assert load_config().jurisdiction("seattle").client == "seattle"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"tokn_env": "X"}, "jurisdictions[0] (slug 'seattle'): unknown key 'tokn_env'"),
        ({"client": None}, "jurisdictions[0] (slug 'seattle'): missing field 'client'"),
        (
            {"api_base": "ftp://example.org/v1"},
            "jurisdictions[0] (slug 'seattle').api_base: must be an http(s) URL",
        ),
        ({"api_base": "https://u:p@example.org/v1"}, "must not carry credentials"),
        ({"timezone": "Mars/Olympus"}, "unknown timezone 'Mars/Olympus'"),
        (
            {"platform": "sharepoint"},
            "jurisdictions[0] (slug 'seattle'): platform must be one of 'legistar', 'legistar-web', "
            "'primegov', 'civicclerk', 'elms'",
        ),
        ({"slug": "Not A Slug"}, "slug 'Not A Slug' must be lowercase"),
        ({"token_env": "not-a-name"}, "token_env must be an environment variable name"),
    ],
)
def test_config_errors_name_file_entry_and_problem(tmp_path, change, message):
    entry = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    path = write_config(tmp_path / "bad.toml", [entry])
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(exc.value).startswith(f"{path}: ")
    assert message in str(exc.value)
    assert "\n" not in str(exc.value)


def test_duplicate_slug(tmp_path):
    path = write_config(tmp_path / "dup.toml", [GOOD, GOOD])
    with pytest.raises(ConfigError, match=r"dup.toml: duplicate slug 'seattle'"):
        load_config(path)


def test_not_toml(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[[jurisdictions]\nslug = ")
    with pytest.raises(ConfigError, match=r"broken.toml: not valid TOML"):
        load_config(path)


def test_cli_prints_one_line_and_exits_nonzero(tmp_path):
    path = write_config(tmp_path / "bad.toml", [{**GOOD, "tokn_env": "X"}])
    result = run_tracker("--config", str(path), "crawl")
    assert result.returncode == 2
    assert result.stderr == f"Error: {path}: jurisdictions[0] (slug 'seattle'): unknown key 'tokn_env'\n"
    result = run_tracker("--config", str(tmp_path / "missing.toml"), "init")
    assert result.returncode == 2
    assert result.stderr == f"Error: {tmp_path / 'missing.toml'}: no such configuration file\n"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        # absurd numbers were accepted and then broke `status`, `documents fetch` and the scheduler's health
        # job with an OverflowError traceback (until 2026-12-07)
        (
            "[alerts]\nstale_after_hours = 1e30",
            "alerts.stale_after_hours: Input should be less than or equal to",
        ),
        ("[alerts]\nstale_after_hours = inf", "alerts.stale_after_hours: Input should be a finite number"),
        (
            "[alerts]\nremind_every_hours = 1e30",
            "alerts.remind_every_hours: Input should be less than or equal",
        ),
        ("[documents]\nrecheck_hours = 1e30", "documents.recheck_hours: Input should be less than or equal"),
        ("[documents]\nretry_hours = 1e30", "documents.retry_hours: Input should be less than or equal"),
        (
            "[crawl]\nsponsors_per_crawl = 10000000000000",
            "crawl.sponsors_per_crawl: Input should be less than",
        ),
        ("[crawl]\ndownload_timeout = nan", "crawl.download_timeout: Input should be a finite number"),
        # a value of the wrong type was coerced (retries = true was 1)
        ("[crawl]\nretries = true", "crawl.retries: Input should be a valid integer"),
        (
            '[crawl]\nper_host_concurrency = "8"',
            "crawl.per_host_concurrency: Input should be a valid integer",
        ),
        ('[crawl]\nuser_agent = ""', "crawl.user_agent: user_agent must be printable ASCII text, not empty"),
        ('[crawl]\nuser_agent = "a\\r\\nX-Evil: 1"', "crawl.user_agent: user_agent must be printable ASCII"),
        ("[documents]\nmedia_types = []", "documents.media_types: List should have at least 1 item"),
        # pairs that cannot both hold
        ("[crawl]\nbackoff_base = 30\nbackoff_max = 1", "crawl: backoff_base (30) is above backoff_max (1)"),
        (
            "[digests]\nretry_base_seconds = 100\nretry_max_seconds = 1",
            "digests: retry_base_seconds (100) is above retry_max_seconds (1)",
        ),
    ],
)
def test_absurd_or_mistyped_settings_are_refused_when_the_config_loads(tmp_path, section, message):
    path = tmp_path / "bad.toml"
    entry = "".join(f'{k} = "{v}"\n' for k, v in GOOD.items())
    path.write_text(f"{section}\n\n[[jurisdictions]]\n{entry}")
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(exc.value).startswith(f"{path}: ") and message in str(exc.value), str(exc.value)
    assert "\n" not in str(exc.value)


def test_a_jurisdictions_own_absurd_stale_after_hours_is_refused(tmp_path):
    path = write_config(tmp_path / "bad.toml", [{**GOOD, "stale_after_hours": 1e30}])
    with pytest.raises(ConfigError, match=r"stale_after_hours: Input should be less than or equal to"):
        load_config(path)
