"""The public surface stays small and importable; `import kmenv` stays cheap."""

from __future__ import annotations

import subprocess
import sys

import kmenv


def test_every_exported_name_resolves() -> None:
    assert sorted(kmenv.__all__) == dir(kmenv)
    for name in kmenv.__all__:
        assert getattr(kmenv, name) is not None


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        _ = kmenv.nothing_here  # type: ignore[attr-defined]
    except AttributeError as exc:
        assert "nothing_here" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_kmenv_and_the_cli_loads_no_heavy_module() -> None:
    code = (
        "import sys, kmenv, kmenv.cli.app, kmenv.environment.fastpath, kmenv.api; "
        "names = ('pydantic', 'rich', 'requests', 'ruamel', 'resolvelib', 'packaging'); "
        "heavy = [m for m in names if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_python_dash_m_kmenv_prints_the_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "kmenv", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == f"kmenv {kmenv.__version__}"


def test_public_functions_are_not_shadowed_by_submodules() -> None:
    import kmenv.actions.install
    import kmenv.lockfile.document

    assert callable(kmenv.install) and callable(kmenv.lock) and callable(kmenv.path)
    assert callable(kmenv.use_kagglehub)


def test_importing_kmenv_does_not_import_kagglehub() -> None:
    code = "import sys, kmenv; kmenv.use_kagglehub; print('kagglehub' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"  # only calling kmenv.use_kagglehub() imports the client
