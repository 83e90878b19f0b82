"""Which identities Kaggle handed a version's files to: the table that guards the shared store.

The store keeps one blob per sha256 for everyone on the machine, so the bytes of a private or
gated model that one identity downloaded are on disk for every other run too. Before such a blob
is handed to a project, the current identity must have been authorised for that version by Kaggle
itself: it downloaded the files (a download RPC that Kaggle answered with the bytes), or it asked
for them (the same RPC, its redirect not followed). Each authorisation is recorded here as an empty
marker ``<cache>/http/kaggle/<host>/entitled/<owner>/<model>/<framework>/<variation>/<version>/<identity>``,
named by the identity's one-way digest (:func:`~kmenv.registry.kaggle.auth.identity_of`), never by
credentials. One file per identity means two runs recording at once cannot lose each other's record.

The ``anonymous`` marker means Kaggle hands the version to anyone (a request without credentials
was authorised), so its blobs are public and every identity may have them; that is the only way a
version counts as public, because no metadata answer proves it (a gated model's metadata is public,
its files are not).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from kmenv.errors import ModelNotFoundError, NetworkError, RegistryError
from kmenv.registry.kaggle.auth import ANONYMOUS
from kmenv.registry.kaggle.cache import safe_part
from kmenv.registry.kaggle.mapping import web_url
from kmenv.values.handles import Handle

if TYPE_CHECKING:
    from kmenv.registry.kaggle.client import KaggleClient

__all__ = ["Entitlements", "authorise"]


class Entitlements:
    """The authorisation records under ``root`` (a :class:`~kmenv.registry.kaggle.cache.MetadataCache` dir).

    ``root=None`` keeps nothing: nothing is known, so every check asks Kaggle.
    """

    def __init__(self, root: Path | None) -> None:
        self.dir = root / "entitled" if root is not None else None

    def _folder(self, handle: Handle) -> Path | None:
        assert handle.framework is not None and handle.variation is not None, "a full handle"
        assert handle.version is not None, "a versioned handle"
        if self.dir is None:
            return None
        parts = (handle.owner, handle.model, handle.framework, handle.variation, str(handle.version))
        return self.dir.joinpath(*(safe_part(p) for p in parts))

    def allows(self, handle: Handle, identity: str) -> bool:
        """True when Kaggle authorised ``identity``, or anyone (the anonymous identity), for this version.

        The record used is touched, so one in use never looks unused to ``kmenv gc`` (which drops cached
        metadata untouched for a month).
        """
        folder = self._folder(handle)
        if folder is None:
            return False
        for marker in (folder / safe_part(identity), folder / ANONYMOUS):
            if marker.is_file():
                with contextlib.suppress(OSError):
                    marker.touch()
                return True
        return False

    def record(self, handle: Handle, identity: str) -> None:
        """Remember that Kaggle authorised ``identity`` for this version (best effort: a read-only cache
        only means the next run asks again)."""
        folder = self._folder(handle)
        if folder is None:
            return
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / safe_part(identity)).touch()

    def forget(self, handle: Handle, identity: str) -> None:
        """Drop ``identity``'s record (Kaggle refused it since)."""
        folder = self._folder(handle)
        if folder is not None:
            with contextlib.suppress(OSError):
                (folder / safe_part(identity)).unlink(missing_ok=True)


def authorise(
    client: KaggleClient, table: Entitlements, handle: Handle, probe: Mapping[str, object], *, fetched: bool
) -> None:
    """Make sure Kaggle authorised ``client``'s identity for the files of version ``handle``, or raise.

    ``fetched``: the identity itself just downloaded some of them from Kaggle, which proves it; it is
    recorded. Otherwise a record (this identity's, or the anonymous one) suffices; without one,
    offline is an error and online the download RPC ``probe`` (the body for one file) is sent, its
    redirect not followed; Kaggle's ``401``/``403``/``404`` is raised as the client words it.
    ``--refresh`` asks again even when a record exists.
    """
    identity = client.identity
    if fetched:
        table.record(handle, identity)
        return
    if table.allows(handle, identity) and (client.offline or not client.cache.refresh):
        return
    if client.offline:
        raise RegistryError(
            f"offline: Kaggle has not yet authorised {client.who()} for {handle} on this machine, "
            "so its files in the shared cache are not handed over",
            hint="run the command once online with these credentials; kmenv asks Kaggle once and remembers it",
        )
    page = web_url(handle.unversioned())
    try:
        client.redirect_location("DownloadModelInstanceVersion", probe, what=f"version {handle}", page_url=page)
    except NetworkError:
        raise  # Kaggle did not answer: what it said before still stands
    except ModelNotFoundError:
        table.forget(handle, identity)
        raise ModelNotFoundError(
            f"Kaggle answers HTTP 404 to {client.who()} for version {handle}: it is private to other accounts, "
            "or gone; its files in the shared cache are not handed over",
            hint=f"use the credentials of an account it is shared with, or check {page}",
        ) from None
    except RegistryError:
        table.forget(handle, identity)
        raise
    table.record(handle, identity)
