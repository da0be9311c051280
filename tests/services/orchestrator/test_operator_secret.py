"""The operator token from its secret file is the file's first line (docs/gateway.md): a second line is no part of
it, an empty file is no token, and the setting wins over the file."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from orchestrator.settings import OrchestratorSettings


def test_the_first_line_of_the_file_is_the_token(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("\n  first-token \nold-token\n", encoding="utf-8")
    assert OrchestratorSettings(operator_token_file=secret).operator_secret() == "first-token"
    secret.write_text("", encoding="utf-8")
    assert OrchestratorSettings(operator_token_file=secret).operator_secret() == ""
    chosen = OrchestratorSettings(operator_token=SecretStr("set"), operator_token_file=secret)
    assert chosen.operator_secret() == "set"
