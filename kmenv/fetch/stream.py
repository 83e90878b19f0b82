"""Where one file's bytes come from decides how they are fetched: a local copy, one stream, or parallel ranges."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import requests

from kmenv.errors import RegistryError
from kmenv.fetch.download import Meter, Submit, Transfer, copy_local, download_with_retries
from kmenv.fetch.http import redact_url
from kmenv.fetch.pace import Pace
from kmenv.fetch.ranged import RangedDownload
from kmenv.fetch.retry import RetryPolicy
from kmenv.fetch.source import FileSource
from kmenv.fetch.tuning import Tuning
from kmenv.store.blobstore import BlobWriter

__all__ = ["stream_into"]


def stream_into(
    writer: BlobWriter,
    session: requests.Session,
    source: FileSource,
    *,
    policy: RetryPolicy,
    cancel: threading.Event,
    meter: Meter,
    tuning: Tuning | None = None,
    pace: Pace | None = None,
    submit: Submit | None = None,
) -> None:
    """Write ``source``'s bytes into ``writer`` (continuing from what is on disk where possible).

    ``tuning`` says when to split a file into ranges and how slow a download may be; ``pace`` (made
    from it when not given) is this file's deadline, shared by all its attempts. ``submit`` runs the
    ranges of a split file on the batch's pool; without it they get a pool of their own.
    """
    scheme = urlsplit(source.url).scheme.lower()
    tuning = tuning or Tuning()
    pace = pace or Pace(writer.label, size=writer.size, min_speed=tuning.min_speed, window=tuning.window)
    t = Transfer(session, source, policy, cancel, meter, pace, tuning.undeclared_limit)
    if scheme == "file":
        meter.moved_to(writer.offset)
        copy_local(writer, source.url, cancel=cancel, meter=meter)
    elif scheme in ("http", "https") and tuning.splits(writer.size) and writer.accepts_ranges is not False:
        RangedDownload(writer, t, tuning).run(submit)
    elif scheme in ("http", "https"):
        if writer.done != ([(0, writer.offset)] if writer.offset else []):
            writer.restart()  # ranges from an earlier run, but this one streams: keep only a contiguous start
        meter.moved_to(writer.offset)
        download_with_retries(writer, t)
    else:
        raise RegistryError(
            f"{writer.label}: cannot download {redact_url(source.url)}: unsupported URL scheme {scheme!r}",
            hint="registries must point at http(s):// or file:// URLs",
        )
