"""PDF documents typeset by typst from a template and data passed as data.

Templates live in `analytics/templates/*.typ` and read their data with
`#let data = json(bytes(sys.inputs.data))`: the data is never spliced into markup, so a
patient's note or a clinic's name can hold any character (`#`, `*`, `<`) and is printed as
written. typst installs offline from its Python wheel and embeds its own fonts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from ldnkit.validation import InputError


def render_pdf(template: str, data: Mapping[str, Any]) -> bytes:
    """The PDF of `templates/<template>.typ` filled with `data` (JSON-serialisable)."""
    import typst  # late: only the commands and pages that print pay for loading it

    folder = resources.files("ldnkit.analytics") / "templates"
    source = folder / f"{template}.typ"
    if not source.is_file():
        raise InputError.single("template", template, "a report template ldnkit ships")
    with resources.as_file(folder) as root:
        pdf: bytes = typst.compile(
            str(root / f"{template}.typ"),
            root=str(root),
            sys_inputs={"data": json.dumps(data, ensure_ascii=False, default=str)},
        )
    return pdf
