"""The catalogue the Kaggle tests' emulator serves, and helpers; the fixture is in ``kaggle_fixtures``.

The catalogue (documented here once, used by every Kaggle test):

- ``keras/bert/keras/bert_tiny_en_uncased``: versions 1–2, Apache 2.0, files in sub-folders, a usage
  template with ``${VERSION_NUMBER}`` and friends, training data links.
- ``acme/base-llm/pyTorch/small``: versions 1–3, MIT; the base of ``acme/chat-llm/pyTorch/small-chat``
  (versions 1–2, MIT, ``baseModelInstanceInformation`` set).
- ``google/gemma/pyTorch/2b``: version 1, licence ``Gemma``, gated (403 until the user consented).
- ``acme/shards/pyTorch/many``: version 1 with 30 files (more than one page, forces the archive path).
- ``alice/private-thing/other/v1``: private to its owner ``alice``.

Credentials known to the emulator: user ``alice`` with key ``alice-secret-key-0001`` and token
``KGAT_0123456789abcdef0123456789abcdef`` (also alice). Nothing here touches anything but 127.0.0.1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kaggle_emulator import KaggleEmulator, iter_files

if TYPE_CHECKING:
    from kmenv.registry.kaggle import KaggleRegistry

ALICE_KEY = "alice-secret-key-0001"
ALICE_TOKEN = "KGAT_0123456789abcdef0123456789abcdef"
USAGE = (
    "```python\nimport keras_hub\n"
    'model = keras_hub.models.BertBackbone.from_preset("kaggle://keras/bert/${FRAMEWORK}/${VARIATION_SLUG}/'
    '${VERSION_NUMBER}")\n# files in ${PATH}\n```'
)


def bert_files(version: int) -> dict[str, bytes]:
    files = {
        "config.json": b'{"vocab_size": 30522, "hidden_dim": 128}',
        "assets/tokenizer/vocabulary.txt": b"[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\n",
        "model.weights.h5": bytes(range(256)) * (8 * version),
    }
    if version >= 2:
        files["metadata.json"] = b'{"keras_version": "3.3.3"}'
    return files


def populate(emu: KaggleEmulator) -> KaggleEmulator:
    emu.users["alice"] = ALICE_KEY
    emu.tokens[ALICE_TOKEN] = "alice"
    emu.add_model(
        "keras",
        "bert",
        "BERT",
        subtitle="Bidirectional encoder representations from transformers",
        description="# BERT\nA tiny English BERT.",
        tags=["text", "nlp"],
        votes=120,
        downloads=5000,
        hotness=9.0,
    )
    emu.add_instance(
        "keras",
        "bert",
        "keras",
        "bert_tiny_en_uncased",
        {1: bert_files(1), 2: bert_files(2)},
        usage=USAGE,
        overview="2-layer BERT, uncased",
        training_data=["https://www.kaggle.com/datasets/example/wikipedia", "BookCorpus"],
    )
    emu.add_model("acme", "base-llm", "Base LLM", tags=["text"], votes=10, downloads=100, hotness=5.0)
    emu.add_instance(
        "acme",
        "base-llm",
        "pyTorch",
        "small",
        {n: {"weights.bin": f"base weights v{n}".encode() * 50, "config.json": b'{"layers": 2}'} for n in (1, 2, 3)},
        license="MIT",
    )
    emu.add_model("acme", "chat-llm", "Chat LLM", tags=["text", "chat"], votes=30, downloads=300, hotness=7.0)
    emu.add_instance(
        "acme",
        "chat-llm",
        "pyTorch",
        "small-chat",
        {n: {"adapter.bin": f"adapter v{n}".encode() * 20} for n in (1, 2)},
        license="MIT",
        base="acme/base-llm/pyTorch/small",
    )
    emu.add_model("google", "gemma", "Gemma", tags=["text", "llm"], votes=900, downloads=90000, hotness=10.0)
    emu.add_instance(
        "google", "gemma", "pyTorch", "2b", {1: {"model.ckpt": b"gemma weights" * 100}}, license="Gemma", gated=True
    )
    emu.add_model("acme", "shards", "Sharded", votes=1, downloads=2, hotness=1.0)
    emu.add_instance("acme", "shards", "pyTorch", "many", {1: dict(iter_files(30))}, license="Apache 2.0")
    emu.add_model("alice", "private-thing", "Private thing", private=True)
    emu.add_instance("alice", "private-thing", "other", "v1", {1: {"secret.txt": b"shh"}})
    return emu


class Sleeps:
    """Records the waits a client would have slept, so retry tests run instantly."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_registry(
    emu: KaggleEmulator,
    cache_dir: Path,
    *,
    offline: bool = False,
    refresh: bool = False,
    sleeps: Sleeps | None = None,
    env: dict[str, str] | None = None,
    frameworks: dict[str, dict[str, str]] | None = None,
    ttl: float = 600.0,
) -> KaggleRegistry:
    """A registry on ``emu`` with its store and metadata cache under ``cache_dir`` (no real sleeping)."""
    from kmenv.registry.kaggle import KaggleRegistry
    from kmenv.registry.kaggle.cache import MetadataCache
    from kmenv.registry.kaggle.client import API_RETRY, KaggleClient
    from kmenv.store.blobstore import Store
    from kmenv.values.target import FRAMEWORK_LIBRARIES

    cache = MetadataCache(cache_dir / "http", emu.url, offline=offline, refresh=refresh, ttl=ttl)
    client = KaggleClient(
        emu.url,
        cache=cache,
        sleep=sleeps or Sleeps(),
        env=env if env is not None else {},
        retry=API_RETRY.with_retries(3),
    )
    table = frameworks if frameworks is not None else {k: dict(v) for k, v in FRAMEWORK_LIBRARIES.items()}
    return KaggleRegistry("kaggle", client, store=Store(cache_dir), frameworks=table)
