"""Reading the curated YAML files of the knowledge base.

The files ship in `ldnkit/knowledge/data/`. Setting `LDNKIT_KNOWLEDGE_DIR` to a folder holding
a full copy of them makes ldnkit read that copy instead (a clinic reviewing a change to a
number or a text, or a test proving that the screen, the plans, the CDS cards and the messages
all follow one). Everything derived from the data is cached per process; call
`reload_knowledge()` after pointing the variable elsewhere. What is fixed when a module is
imported (the diary's score bounds on its models, CLI help texts) follows only a variable set
before ldnkit starts.
"""

from __future__ import annotations

import hashlib
import os
import sys
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

DATA_DIR_ENV = "LDNKIT_KNOWLEDGE_DIR"
_PACKAGED = resources.files("ldnkit.knowledge") / "data"


def data_dir() -> Traversable:
    """The folder the knowledge data is read from: `LDNKIT_KNOWLEDGE_DIR`, else the package's."""
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override) if override else _PACKAGED


def data_file_names() -> list[str]:
    """Names of every YAML file in the knowledge data folder, sorted."""
    return sorted(p.name for p in data_dir().iterdir() if p.name.endswith(".yaml"))


def read_text(name: str) -> str:
    """The text of one data file (YAML or JSON)."""
    return (data_dir() / name).read_text(encoding="utf-8")


# PyYAML's libyaml parser where it is built in (the wheels for the usual platforms have it):
# the same safe loading, six times faster, which every command and worker pays at start.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def read_data(name: str) -> Any:
    """Parse one data file (for example `sources.yaml`); parsed once per process."""
    return yaml.load(read_text(name), Loader=_LOADER)  # noqa: S506 (a safe loader)


@cache
def data_version() -> str:
    """A short fingerprint of all data files, saved with results so they can be traced."""
    digest = hashlib.sha256()
    folder = data_dir()
    for name in data_file_names():
        digest.update(name.encode())
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:12]


def reload_knowledge() -> None:
    """Forget everything read or derived from the knowledge data, so the next use reads it again.

    Every functools cache in ldnkit's modules holds either data read from the knowledge folder
    or values derived from it (recognised drugs, rendered findings, the ask index); clearing all
    of them is the only way none is missed, and costs nothing but the next call's time.
    """
    for name, module in list(sys.modules.items()):
        if not (name == "ldnkit" or name.startswith("ldnkit.")) or module is None:
            continue
        for value in list(vars(module).values()):
            _clear(value)
            if isinstance(value, type) and value.__module__ == name:
                for member in vars(value).values():
                    _clear(member)


def _clear(value: object) -> None:
    clear = getattr(value, "cache_clear", None)
    if callable(clear):
        clear()
