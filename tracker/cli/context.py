"""The object every command receives (``click.pass_obj`` or :data:`pass_ctx`): the ``--config`` path, the
logging options, the configuration (loaded on first use, which also sets up logging) and the database."""

from __future__ import annotations

from typing import Any

import click

from tracker.config import Config, load_config


class Context:
    def __init__(self, config_path: str | None, verbose: int, json_logs: bool) -> None:
        self.config_path = config_path
        self.verbose = verbose
        self.json_logs = json_logs
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
            from tracker.logs import setup_logging

            secrets = [j.token_env for j in self._config.jurisdictions if j.token_env]
            if self._config.email and self._config.email.password_env:  # the SMTP password, masked too
                secrets.append(self._config.email.password_env)
            secrets.append(self._config.digests.secret_env)  # the unsubscribe links' signing secret
            setup_logging(self.verbose, secret_env=secrets, json_lines=self.json_logs)
        return self._config

    def engine(self) -> Any:
        from db.engine import make_engine, require_schema

        engine = make_engine(self.config.database_url)
        require_schema(engine)
        return engine


pass_ctx = click.make_pass_decorator(Context)
