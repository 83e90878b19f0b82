"""The licence table: every entry loads, no alias is claimed twice, and every published spelling normalises."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from kmenv.policy.names import normalise_licence
from kmenv.policy.table import CATEGORIES, FLAGS, LicenceInfo, build_licensing, licence_table

#: Every licence string Kaggle offers for models (kaggle-api docs/models_metadata.md), with the id kmenv uses.
KAGGLE = {
    "Apache 2.0": "Apache-2.0",
    "MIT": "MIT",
    "BSD-3-Clause": "BSD-3-Clause",
    "GPL 2": "GPL-2.0-only",
    "GPL 3": "GPL-3.0-only",
    "GNU Affero General Public License 3.0": "AGPL-3.0-only",
    "GNU Lesser General Public License 3.0": "LGPL-3.0-only",
    "GNU Free Documentation License 1.3": "GFDL-1.3-only",
    "CC0: Public Domain": "CC0-1.0",
    "CC BY-SA 3.0": "CC-BY-SA-3.0",
    "CC BY-SA 4.0": "CC-BY-SA-4.0",
    "CC BY-NC-SA 4.0": "CC-BY-NC-SA-4.0",
    "Attribution 3.0 Unported (CC BY 3.0)": "CC-BY-3.0",
    "Attribution 3.0 IGO (CC BY 3.0 IGO)": "CC-BY-3.0-IGO",
    "Attribution 4.0 International (CC BY 4.0)": "CC-BY-4.0",
    "Attribution-NoDerivatives 4.0 International (CC BY-ND 4.0)": "CC-BY-ND-4.0",
    "Attribution-NonCommercial 4.0 International (CC BY-NC 4.0)": "CC-BY-NC-4.0",
    "Attribution-NonCommercial-NoDerivatives 4.0 International (CC BY-NC-ND 4.0)": "CC-BY-NC-ND-4.0",
    "Attribution-NonCommercial-ShareAlike 3.0 IGO (CC BY-NC-SA 3.0 IGO)": "CC-BY-NC-SA-3.0-IGO",
    "Community Data License Agreement - Permissive - Version 1.0": "CDLA-Permissive-1.0",
    "Community Data License Agreement - Sharing - Version 1.0": "CDLA-Sharing-1.0",
    "ODC Attribution License (ODC-By)": "ODC-By-1.0",
    "ODC Public Domain Dedication and Licence (PDDL)": "PDDL-1.0",
}

#: Hugging Face model-card ``license:`` ids (hub-docs repositories-licenses.md) and their category.
HUGGING_FACE = {
    "apache-2.0": "permissive", "mit": "permissive", "openrail": "use-restricted",
    "bigscience-openrail-m": "use-restricted", "creativeml-openrail-m": "use-restricted",
    "bigscience-bloom-rail-1.0": "use-restricted", "bigcode-openrail-m": "use-restricted",
    "afl-3.0": "permissive", "artistic-2.0": "weak-copyleft", "bsl-1.0": "permissive", "bsd": "unknown",
    "bsd-2-clause": "permissive", "bsd-3-clause": "permissive", "bsd-3-clause-clear": "permissive",
    "c-uda": "use-restricted", "cc": "unknown", "cc0-1.0": "public-domain", "cc-by-2.0": "permissive",
    "cc-by-2.5": "permissive", "cc-by-3.0": "permissive", "cc-by-4.0": "permissive",
    "cc-by-sa-3.0": "weak-copyleft", "cc-by-sa-4.0": "weak-copyleft", "cc-by-nc-2.0": "non-commercial",
    "cc-by-nc-3.0": "non-commercial", "cc-by-nc-4.0": "non-commercial", "cc-by-nd-4.0": "use-restricted",
    "cc-by-nc-nd-3.0": "non-commercial", "cc-by-nc-nd-4.0": "non-commercial", "cc-by-nc-sa-2.0": "non-commercial",
    "cc-by-nc-sa-3.0": "non-commercial", "cc-by-nc-sa-4.0": "non-commercial", "cdla-sharing-1.0": "weak-copyleft",
    "cdla-permissive-1.0": "permissive", "cdla-permissive-2.0": "permissive", "wtfpl": "public-domain",
    "ecl-2.0": "permissive", "epl-1.0": "weak-copyleft", "epl-2.0": "weak-copyleft", "etalab-2.0": "permissive",
    "eupl-1.1": "weak-copyleft", "eupl-1.2": "weak-copyleft", "agpl-3.0": "copyleft", "gfdl": "unknown",
    "gpl": "unknown", "gpl-2.0": "copyleft", "gpl-3.0": "copyleft", "lgpl": "unknown",
    "lgpl-2.1": "weak-copyleft", "lgpl-3.0": "weak-copyleft", "isc": "permissive", "h-research": "non-commercial",
    "intel-research": "non-commercial", "lppl-1.3c": "permissive", "ms-pl": "permissive",
    "apple-ascl": "permissive", "apple-amlr": "non-commercial", "mpl-2.0": "weak-copyleft", "odc-by": "permissive",
    "odbl": "copyleft", "openmdw-1.0": "permissive", "openmdw-1.1": "permissive", "openrail++": "use-restricted",
    "osl-3.0": "copyleft", "postgresql": "permissive", "ofl-1.1": "weak-copyleft", "ncsa": "permissive",
    "unlicense": "public-domain", "zlib": "permissive", "pddl": "public-domain", "lgpl-lr": "weak-copyleft",
    "deepfloyd-if-license": "non-commercial", "fair-noncommercial-research-license": "non-commercial",
    "llama2": "use-restricted", "llama3": "use-restricted", "llama3.1": "use-restricted",
    "llama3.2": "use-restricted", "llama3.3": "use-restricted", "llama4": "use-restricted",
    "grok2-community": "use-restricted", "gemma": "use-restricted", "unknown": "unknown", "other": "proprietary",
}  # fmt: skip


def raw_table() -> dict[str, object]:
    data: dict[str, object] = json.loads(
        resources.files("kmenv.policy").joinpath("data/licences.json").read_text(encoding="utf-8")
    )
    return data


def test_the_table_is_versioned_and_builds_without_alias_collisions() -> None:
    data = raw_table()
    assert data["format"] == 1 and isinstance(data["version"], str)
    assert list(data["categories"]) == list(CATEGORIES)  # type: ignore[call-overload]
    table = licence_table()
    seen: dict[str, str] = {}
    for entry in table.entries:
        assert entry.category in CATEGORIES, entry.id
        assert set(entry.flags) <= set(FLAGS), entry.id
        for spelling in (entry.id, *entry.aliases):
            key = " ".join(spelling.split()).lower()
            assert seen.setdefault(key, entry.id) == entry.id, f"{spelling!r} is claimed by {seen[key]} and {entry.id}"


def test_a_collision_is_refused_when_the_licensing_is_built() -> None:
    clash = (
        LicenceInfo("LicenseRef-a", "A", "permissive", aliases=("Same Name",)),
        LicenceInfo("LicenseRef-b", "B", "permissive", aliases=("same name",)),
    )
    with pytest.raises(ValueError):
        build_licensing(clash)


@pytest.mark.parametrize("entry", licence_table().entries, ids=lambda e: e.id)
def test_every_entry_and_each_of_its_spellings_normalises_to_it(entry: LicenceInfo) -> None:
    table = licence_table()
    for spelling in (entry.id, *entry.aliases, entry.id.lower(), f"  {entry.id.upper()}  "):
        normalised = table.normalise(spelling)
        assert normalised.text == entry.id, spelling
        assert normalised.status == ("unknown" if entry.category == "unknown" else "ok") or normalised.spdx
    info = table.info(entry.id)
    assert info is not None and (info.category, info.flags) == (entry.category, entry.flags)


@pytest.mark.parametrize(("published", "expected"), sorted(KAGGLE.items()))
def test_every_kaggle_licence_string_maps_to_an_spdx_id(published: str, expected: str) -> None:
    assert normalise_licence(published) == expected
    info = licence_table().info(expected)
    assert info is not None and info.listed


@pytest.mark.parametrize(("licence_id", "category"), sorted(HUGGING_FACE.items()))
def test_every_hugging_face_licence_id_has_a_category(licence_id: str, category: str) -> None:
    table = licence_table()
    normalised = table.normalise(licence_id)
    assert normalised.expression is not None
    info = table.info(str(normalised.expression))
    assert info is not None and info.category == category


def test_expressions_parse_and_normalise() -> None:
    table = licence_table()
    assert table.normalise("mit or apache 2.0").spdx == "MIT OR Apache-2.0"
    assert table.normalise("gemma AND (CC BY 4.0 or MIT)").spdx == "LicenseRef-kmenv-Gemma AND (CC-BY-4.0 OR MIT)"
    with_exception = table.normalise("GPL-2.0-or-later WITH Classpath-exception-2.0")
    assert with_exception.spdx == "GPL-2.0-or-later WITH Classpath-exception-2.0"
    assert list(table.leaves(with_exception.expression)) == ["GPL-2.0-or-later WITH Classpath-exception-2.0"]


def test_unknown_unparseable_and_missing_are_told_apart() -> None:
    table = licence_table()
    custom = table.normalise("MIT AND Acme Research Terms")
    assert (custom.status, custom.unknown, custom.spdx) == ("unknown", ("Acme Research Terms",), None)
    broken = table.normalise("MIT/Apache-2.0")
    assert broken.status == "unparseable" and broken.error
    assert table.normalise("  ").status == "missing"
    assert table.normalise(None).status == "missing"


def test_spdx_ids_outside_the_table_get_a_category_from_the_spdx_data() -> None:
    info = licence_table().info("0BSD")
    assert info is not None and not info.listed and info.category == "permissive"


def test_project_aliases_extend_and_override_the_table() -> None:
    table = licence_table().with_aliases((("Acme Model Licence 1.0", "LicenseRef-acme-1"), ("Gemma", "MIT")))
    assert table.normalise("acme model licence 1.0").spdx == "LicenseRef-acme-1"
    acme = table.info("LicenseRef-acme-1")
    assert acme is not None and acme.category == "proprietary"
    assert table.normalise("Gemma").spdx == "MIT"
    assert licence_table().normalise("Gemma").spdx == "LicenseRef-kmenv-Gemma"  # the shared table is untouched


@pytest.mark.parametrize("entry", licence_table().entries, ids=lambda e: e.id)
def test_a_table_spelling_reads_as_the_full_spdx_parse_reads_it(entry: LicenceInfo) -> None:
    # A spelling the table knows is answered without building the SPDX licensing (60 ms at every lock);
    # the answer must be the one the licensing gives.
    table = licence_table()
    for spelling in (entry.id, *entry.aliases):
        quick = table.normalise(spelling)
        parsed = table.licensing.parse(entry.id, validate=False, strict=False)
        unknown = tuple(dict.fromkeys(table.licensing.unknown_license_keys(parsed)))
        assert (quick.text, quick.status, quick.unknown) == (str(parsed), "unknown" if unknown else "ok", unknown)
        assert list(table.leaves(quick.expression)) == [str(s) for s in table.licensing.license_symbols(parsed)]


def test_normalising_a_table_spelling_builds_no_licensing() -> None:
    from kmenv.policy.table import LicenceTable

    base = licence_table()
    fresh = LicenceTable(base.version, base.categories, base.entries)
    assert fresh.normalise("Apache 2.0").text == "Apache-2.0"
    assert fresh.built is False
    assert fresh.normalise("MIT OR Apache-2.0").text == "MIT OR Apache-2.0"
    assert fresh.built is True


def test_project_aliases_that_claim_one_spelling_twice_are_refused_at_once() -> None:
    with pytest.raises(ValueError, match="claimed by"):
        licence_table().with_aliases((("Foo License", "MIT"), ("foo  license", "Apache-2.0")))
