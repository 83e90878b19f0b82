"""fetch_unknown: downloads whose sha256 is learnt from the bytes, checked against md5 and x-goog-hash."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable

import pytest
from fetch_faults import FaultServer, reply, serve_file

from kmenv.errors import IntegrityError
from kmenv.fetch import fetch_unknown
from kmenv.fetch.source import FileSource
from kmenv.store.blobstore import Store

SECRET = "Bearer s3cret-token"

DATA = bytes(range(256)) * 8000
SHA = hashlib.sha256(DATA).hexdigest()
MD5 = base64.b64encode(hashlib.md5(DATA).digest()).decode()
WRONG_MD5 = base64.b64encode(hashlib.md5(b"other").digest()).decode()


def goog(md5: str) -> dict[str, str]:
    """The ``x-goog-hash`` header Google Cloud Storage sends with an object."""
    return {"x-goog-hash": f"crc32c=AAAAAA==,md5={md5}"}


def test_the_sha256_comes_from_the_bytes_and_the_md5_is_indexed(server: FaultServer, store: Store) -> None:
    server.routes["/blob"] = serve_file(DATA, headers=goog(MD5))
    sha = fetch_unknown(store, FileSource(server.url + "/blob"), size=len(DATA), digests={}, label="m/f", backoff=0)

    assert sha == SHA and store.blob_path(SHA).read_bytes() == DATA
    assert store.lookup_digest("md5", MD5) == SHA, "the md5 from x-goog-hash was verified and recorded"


def test_a_known_md5_needs_no_download(server: FaultServer, store: Store) -> None:
    server.routes["/blob"] = serve_file(DATA)
    source = FileSource(server.url + "/blob")
    fetch_unknown(store, source, size=len(DATA), digests={"md5": MD5}, label="m/f", backoff=0)
    assert fetch_unknown(store, source, size=len(DATA), digests={"md5": MD5}, label="m/f", backoff=0) == SHA
    assert len(server.hits("/blob")) == 1


@pytest.mark.parametrize("where", ["argument", "x-goog-hash"])
def test_a_wrong_md5_keeps_nothing(server: FaultServer, store: Store, where: str) -> None:
    digests = {"md5": WRONG_MD5} if where == "argument" else {}
    route = serve_file(DATA)
    server.routes["/blob"] = route if where == "argument" else serve_file(DATA, headers=goog(WRONG_MD5))
    with pytest.raises(IntegrityError, match=r"m/f: md5 mismatch") as caught:
        fetch_unknown(store, FileSource(server.url + "/blob"), size=len(DATA), digests=digests, label="m/f", backoff=0)
    assert caught.value.exit_code == 6
    assert not store.blob_path(SHA).exists()


def test_a_dropped_transfer_resumes_and_credentials_stay_home(
    make_server: Callable[[], FaultServer], store: Store
) -> None:
    api, storage = make_server(), make_server()
    storage.routes["/bucket/blob"] = serve_file(DATA, cut_first_after=1_200_000, headers=goog(MD5))
    api.routes["/download"] = lambda h: reply(h, 302, headers={"Location": storage.url + "/bucket/blob?sig=x"})
    source = FileSource(api.url + "/download", method="POST", json={"path": "f"}, headers={"Authorization": SECRET})

    assert fetch_unknown(store, source, size=len(DATA), digests={"md5": MD5}, label="m/f", backoff=0) == SHA

    first, second = storage.hits("/bucket/blob")
    assert second.headers["Range"].startswith("bytes=") and second.headers["If-Range"] == '"v1"'
    assert all("Authorization" not in hit.headers for hit in (first, second))
