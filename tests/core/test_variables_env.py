"""variables.env lists every setting the services read, so it stays the one place to look.

Every field of every pydantic-settings class in the repository must appear there, under its env name.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_MODULES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts)
    for p in ROOT.glob("*/**/settings.py")
    if ".venv" not in p.parts and "tests" not in p.parts
) + ["utils.settings"]


def _listed_names() -> set[str]:
    names = set()
    for raw in (ROOT / "variables.env").read_text().splitlines():
        line = raw.strip().lstrip("#").strip()
        if "=" in line and line.split("=", 1)[0].isupper():
            names.add(line.split("=", 1)[0].strip())
    return names


def _setting_names() -> dict[str, str]:
    found: dict[str, str] = {}
    for module_name in SETTINGS_MODULES:
        module = importlib.import_module(module_name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseSettings) and cls is not BaseSettings and cls.__module__ == module_name:
                prefix = str(cls.model_config.get("env_prefix", ""))
                for field in cls.model_fields:
                    found[(prefix + field).upper()] = f"{module_name}.{cls.__name__}.{field}"
    return found


def test_settings_modules_were_found() -> None:
    assert "utils.settings" in SETTINGS_MODULES and len(SETTINGS_MODULES) > 3


def test_every_setting_is_listed_in_variables_env() -> None:
    missing = {env: where for env, where in _setting_names().items() if env not in _listed_names()}
    assert missing == {}, f"add these to variables.env: {sorted(missing)}"
