"""Reading the curated YAML files shipped in `ldnkit/knowledge/data/`."""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from typing import Any

import yaml

_DATA = resources.files("ldnkit.knowledge") / "data"


def data_file_names() -> list[str]:
    """Names of every YAML file in the knowledge data folder, sorted."""
    return sorted(p.name for p in _DATA.iterdir() if p.name.endswith(".yaml"))


@cache
def read_data(name: str) -> Any:
    """Parse one data file (for example `sources.yaml`); parsed once per process."""
    return yaml.safe_load((_DATA / name).read_text(encoding="utf-8"))


@cache
def data_version() -> str:
    """A short fingerprint of all data files, saved with results so they can be traced."""
    digest = hashlib.sha256()
    for name in data_file_names():
        digest.update(name.encode())
        digest.update((_DATA / name).read_bytes())
    return digest.hexdigest()[:12]
