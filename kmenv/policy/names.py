"""Licence display names → SPDX ids.

Kaggle publishes licences as display strings ("Apache 2.0", "Attribution 4.0 International
(CC BY 4.0)"); policies speak SPDX. Lookup is case- and whitespace-insensitive. A string that
already is an SPDX id maps to itself.
"""

from __future__ import annotations

__all__ = ["normalise_licence"]

_TABLE: dict[str, str] = {
    "apache 2.0": "Apache-2.0",
    "apache-2.0": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "mit": "MIT",
    "bsd-3-clause": "BSD-3-Clause",
    "gpl 2": "GPL-2.0-only",
    "gpl 3": "GPL-3.0-only",
    "gnu affero general public license 3.0": "AGPL-3.0-only",
    "gnu lesser general public license 3.0": "LGPL-3.0-only",
    "gnu free documentation license 1.3": "GFDL-1.3-only",
    "cc0: public domain": "CC0-1.0",
    "cc by-sa 3.0": "CC-BY-SA-3.0",
    "cc by-sa 4.0": "CC-BY-SA-4.0",
    "cc by-nc-sa 4.0": "CC-BY-NC-SA-4.0",
    "attribution 3.0 unported (cc by 3.0)": "CC-BY-3.0",
    "attribution 3.0 igo (cc by 3.0 igo)": "CC-BY-3.0-IGO",
    "attribution 4.0 international (cc by 4.0)": "CC-BY-4.0",
    "attribution-noderivatives 4.0 international (cc by-nd 4.0)": "CC-BY-ND-4.0",
    "attribution-noncommercial 4.0 international (cc by-nc 4.0)": "CC-BY-NC-4.0",
    "attribution-noncommercial-noderivatives 4.0 international (cc by-nc-nd 4.0)": "CC-BY-NC-ND-4.0",
    "attribution-noncommercial-sharealike 3.0 igo (cc by-nc-sa 3.0 igo)": "LicenseRef-kmenv-CC-BY-NC-SA-3.0-IGO",
    "community data license agreement - permissive - version 1.0": "CDLA-Permissive-1.0",
    "community data license agreement - sharing - version 1.0": "CDLA-Sharing-1.0",
    "odc attribution license (odc-by)": "ODC-By-1.0",
    "odc public domain dedication and licence (pddl)": "PDDL-1.0",
    "gemma": "LicenseRef-kmenv-Gemma",
    "gemma terms of use": "LicenseRef-kmenv-Gemma",
    "llama 2": "LicenseRef-kmenv-Llama-2",
    "llama 3 community license": "LicenseRef-kmenv-Llama-3",
    "llama 3.1 community license": "LicenseRef-kmenv-Llama-3.1",
}

_SPDX_IDS = {v.lower(): v for v in _TABLE.values()}


def normalise_licence(published: str | None) -> str | None:
    """The SPDX id (or ``LicenseRef-kmenv-…``) for a published licence string, else ``None``."""
    if published is None:
        return None
    key = " ".join(published.split()).lower()
    if not key:
        return None
    return _TABLE.get(key) or _SPDX_IDS.get(key)
