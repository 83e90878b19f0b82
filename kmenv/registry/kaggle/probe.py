"""The md5 of a Kaggle file's blob, read without downloading it: a download RPC, then a one-byte range.

Kaggle lists no digest, but the storage its download RPC redirects to reports the blob's md5 in
``x-goog-hash``; with it the store's md5 index can name a blob already held, and the file is not
downloaded again. The probe is an optimisation (without it the file is downloaded), so it tries
three times without waiting and gives up quietly.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import requests

from kmenv.fetch.download import goog_hashes
from kmenv.fetch.http import same_origin
from kmenv.fetch.retry import RetryPolicy
from kmenv.registry.kaggle.client import API_RETRY, KaggleClient
from kmenv.registry.kaggle.mapping import web_url
from kmenv.values.handles import Handle

__all__ = ["parse_goog_hash", "probe_md5"]

_PROBE_RETRY = RetryPolicy(attempts=3, backoff=0.0, statuses=API_RETRY.statuses)


def parse_goog_hash(header: str | None) -> dict[str, str]:
    """``crc32c=<b64>,md5=<b64>`` → ``{"crc32c": ..., "md5": ...}``; malformed parts are skipped."""
    return dict(goog_hashes(header or ""))


def probe_md5(client: KaggleClient, handle: Handle, body: Mapping[str, object]) -> str | None:
    """The md5 ``x-goog-hash`` of a file's blob, from a one-byte range request; ``None`` when unavailable.

    Kaggle's refusal of the download RPC itself (401/403/404) is raised: the file cannot be had.
    """
    location, direct = client.redirect_location(
        "DownloadModelInstanceVersion",
        body,
        what=f"{handle}/{body.get('path')}",
        page_url=web_url(handle.unversioned()),
    )
    if location is None:  # the bytes came straight back: their headers may carry the hash
        return parse_goog_hash(direct.get("x-goog-hash")).get("md5")
    headers = {"Range": "bytes=0-0", "Accept-Encoding": "identity"}
    if same_origin(location, client.base_url):
        headers.update(client.auth_headers())
    failures = 0
    while not _PROBE_RETRY.gives_up(failures):
        if failures:
            time.sleep(_PROBE_RETRY.delay(failures))
        try:
            with client.session().get(
                location, headers=headers, stream=True, timeout=(10, 30), allow_redirects=False
            ) as reply:
                if reply.status_code in (200, 206):
                    return parse_goog_hash(reply.headers.get("x-goog-hash")).get("md5")
                if not _PROBE_RETRY.retries_status(reply.status_code):
                    return None
        except requests.RequestException:
            pass
        failures += 1
    return None
