"""Generate the bundled example registry, ``examples/registry/``, from small hand-made model files.

    python examples/make_example.py            # rebuild examples/registry/ in place
    python examples/make_example.py --out DIR  # build somewhere else

Every file is written here, byte by byte, in its real format (safetensors, ONNX, GGUF, NumPy
``.npz``, Hugging Face tokenizer JSON) from fixed seeds, so two runs give identical bytes and the
committed registry can be checked against a fresh build. Uses only the standard library and kmenv;
nothing is downloaded. The weights are random: the models are real in form, not in skill.

What the example demonstrates (the tests in ``tests/test_example.py`` hold it to this):

- ``tiny-bert``: four versions; the newest needs ``transformers>=4.50``, the others ``>=4.30``.
- ``bias-add``: licensed Apache 2.0 up to v2, then relicensed CC BY-NC 4.0 in v3 (same weights).
- ``tiny-lm-lora``: a LoRA adapter whose v3 needs its base ``tiny-lm`` at version 2 or later.
- licences of every kind: permissive (Apache 2.0, MIT), copyleft (CC BY-SA 4.0),
  non-commercial (CC BY-NC 4.0) and a custom, gated one (Gemma).
- metrics and training data: ``tiny-bert``, ``iris`` and ``flower-classifier`` publish benchmark
  figures per version (``kmenv versions`` shows one column per metric, ``kmenv compare`` a table);
  the figures are illustrative, since the weights are random, and each says so in its ``source``.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
import struct
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kmenv.registry.static.build import BuildReport, build_registry

OWNER = "kmenv-examples"
REGISTRY_NAME = "kmenv-examples"
HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "registry"

Tensor = tuple[Sequence[int], Sequence[float]]


# -- small writers for real file formats -----------------------------------------------------


def json_bytes(data: object) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def text_bytes(text: str) -> bytes:
    return (text.strip("\n") + "\n").encode("utf-8")


def random_values(seed: int, count: int, scale: float = 0.02) -> list[float]:
    """Uniform values with standard deviation ``scale``.

    Only ``random()`` and arithmetic, both exact everywhere: ``gauss`` goes through ``log`` and
    ``cos``, whose last bit may differ between C libraries, and the bytes must not.
    """
    rng = random.Random(seed)
    half_width = scale * 3**0.5
    return [(2 * rng.random() - 1) * half_width for _ in range(count)]


def safetensors(tensors: dict[str, Tensor], metadata: dict[str, str]) -> bytes:
    """The safetensors format: u64 little-endian header size, JSON header, raw little-endian data."""
    header: dict[str, object] = {"__metadata__": metadata}
    data = bytearray()
    for name in sorted(tensors):
        shape, values = tensors[name]
        assert math.prod(shape) == len(values), name
        start = len(data)
        data += struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [start, len(data)]}
    encoded = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
    encoded += b" " * (-len(encoded) % 8)  # the data starts 8-byte aligned
    return struct.pack("<Q", len(encoded)) + encoded + bytes(data)


def npz(arrays: dict[str, Tensor]) -> bytes:
    """A NumPy ``.npz`` archive (a zip of ``.npy`` files) with fixed timestamps, readable by ``numpy.load``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(arrays):
            shape, values = arrays[name]
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, _npy(shape, values))
    return buffer.getvalue()


def _npy(shape: Sequence[int], values: Sequence[float]) -> bytes:
    dims = f"{shape[0]}," if len(shape) == 1 else ", ".join(str(d) for d in shape)
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}"
    padding = -(10 + len(header) + 1) % 64
    header_bytes = (header + " " * padding + "\n").encode("latin-1")
    return (
        b"\x93NUMPY\x01\x00"
        + struct.pack("<H", len(header_bytes))
        + header_bytes
        + struct.pack(f"<{len(values)}f", *values)
    )


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _pb_int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _pb_bytes(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def _pb_str(number: int, value: str) -> bytes:
    return _pb_bytes(number, value.encode("utf-8"))


def onnx_bias_add(bias: Sequence[float], *, doc: str) -> bytes:
    """An ONNX model (protobuf ``ModelProto``, IR 8, opset 13) computing ``y = x + bias`` for x of shape [1, n]."""
    n = len(bias)

    def tensor_type(dims: Sequence[int]) -> bytes:
        shape = b"".join(_pb_bytes(1, _pb_int(1, d)) for d in dims)  # TensorShapeProto.dim{dim_value}
        return _pb_bytes(1, _pb_int(1, 1) + _pb_bytes(2, shape))  # TypeProto.tensor_type{elem_type=FLOAT, shape}

    def value_info(name: str, dims: Sequence[int]) -> bytes:
        return _pb_str(1, name) + _pb_bytes(2, tensor_type(dims))

    initializer = _pb_int(1, n) + _pb_int(2, 1) + _pb_str(8, "bias") + _pb_bytes(9, struct.pack(f"<{n}f", *bias))
    node = _pb_str(1, "x") + _pb_str(1, "bias") + _pb_str(2, "y") + _pb_str(3, "add_bias") + _pb_str(4, "Add")
    graph = (
        _pb_bytes(1, node)
        + _pb_str(2, "bias_add")
        + _pb_bytes(5, initializer)
        + _pb_bytes(11, value_info("x", [1, n]))
        + _pb_bytes(12, value_info("y", [1, n]))
    )
    return (
        _pb_int(1, 8)  # ir_version
        + _pb_str(2, OWNER)  # producer_name
        + _pb_str(3, "1")  # producer_version
        + _pb_str(6, doc)  # doc_string
        + _pb_bytes(7, graph)
        + _pb_bytes(8, _pb_int(2, 13))  # opset_import{domain="", version=13}
    )


_GGUF_UINT32, _GGUF_STRING = 4, 8
_GGML_F32, _GGML_Q8_0 = 0, 8


def gguf(name: str, seed: int) -> bytes:
    """A GGUF v3 file: metadata plus two tiny tensors (one Q8_0-quantised, one F32), 32-byte aligned."""
    metadata: list[tuple[str, int, object]] = [
        ("general.architecture", _GGUF_STRING, "gemma"),
        ("general.name", _GGUF_STRING, name),
        ("general.license", _GGUF_STRING, "gemma"),
        ("general.file_type", _GGUF_UINT32, 7),  # mostly Q8_0
        ("general.quantization_version", _GGUF_UINT32, 2),
        ("general.alignment", _GGUF_UINT32, 32),
    ]
    values = random_values(seed, 64, scale=0.5)
    quantised = b"".join(_q8_0_block(values[i : i + 32]) for i in range(0, 64, 32))
    norm = struct.pack("<8f", *[1.0] * 8)
    tensors = [("token_embd.weight", [32, 2], _GGML_Q8_0, quantised), ("output_norm.weight", [8], _GGML_F32, norm)]

    def string(text: str) -> bytes:
        raw = text.encode("utf-8")
        return struct.pack("<Q", len(raw)) + raw

    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata)))
    for key, kind, value in metadata:
        out += string(key) + struct.pack("<I", kind)
        out += string(str(value)) if kind == _GGUF_STRING else struct.pack("<I", value)
    data = bytearray()
    for tensor_name, dims, kind, raw in tensors:
        data += b"\0" * (-len(data) % 32)
        out += string(tensor_name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", kind, len(data))
        data += raw
    out += b"\0" * (-len(out) % 32)
    return bytes(out + data)


def _q8_0_block(values: Sequence[float]) -> bytes:
    """One Q8_0 block: a float16 scale, then 32 signed bytes."""
    scale = max(abs(v) for v in values) / 127 or 1.0
    return struct.pack("<e", scale) + struct.pack("<32b", *(round(v / scale) for v in values))


def wordpiece_tokenizer(vocab: Sequence[str]) -> bytes:
    """A Hugging Face ``tokenizer.json`` for a lower-casing BERT WordPiece tokenizer over ``vocab``."""
    ids = {token: i for i, token in enumerate(vocab)}
    specials = [t for t in vocab if t.startswith("[") and t.endswith("]")]
    return json_bytes(
        {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {
                    "id": ids[t],
                    "content": t,
                    "single_word": False,
                    "lstrip": False,
                    "rstrip": False,
                    "normalized": False,
                    "special": True,
                }
                for t in specials
            ],
            "normalizer": {
                "type": "BertNormalizer",
                "clean_text": True,
                "handle_chinese_chars": True,
                "strip_accents": None,
                "lowercase": True,
            },
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [
                    {"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                ],
                "pair": [
                    {"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                    {"Sequence": {"id": "B", "type_id": 1}},
                    {"SpecialToken": {"id": "[SEP]", "type_id": 1}},
                ],
                "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")},
            },
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
            "model": {
                "type": "WordPiece",
                "unk_token": "[UNK]",
                "continuing_subword_prefix": "##",
                "max_input_chars_per_word": 100,
                "vocab": ids,
            },
        }
    )


def wordlevel_tokenizer(vocab: Sequence[str]) -> bytes:
    """A Hugging Face ``tokenizer.json`` that lower-cases, splits on whitespace and maps whole words."""
    return json_bytes(
        {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {
                    "id": i,
                    "content": t,
                    "single_word": False,
                    "lstrip": False,
                    "rstrip": False,
                    "normalized": False,
                    "special": True,
                }
                for i, t in enumerate(vocab)
                if t.startswith("<")
            ],
            "normalizer": {"type": "Lowercase"},
            "pre_tokenizer": {"type": "Whitespace"},
            "post_processor": None,
            "decoder": None,
            "model": {"type": "WordLevel", "vocab": {t: i for i, t in enumerate(vocab)}, "unk_token": "<unk>"},
        }
    )


# -- the example models ---------------------------------------------------------------------


@dataclass
class Version:
    number: int
    license: str | None
    published: str
    files: dict[str, bytes]
    requires: dict[str, str] = field(default_factory=dict)
    base: dict[str, str] | None = None
    metrics: list[dict[str, object]] = field(default_factory=list)
    training_data: list[str] = field(default_factory=list)


@dataclass
class Instance:
    model: str
    framework: str
    variation: str
    title: str
    description: str
    versions: list[Version]

    @property
    def handle(self) -> str:
        return f"{OWNER}/{self.model}/{self.framework}/{self.variation}"


def model_card(instance_title: str, handle: str, version: int, license: str, notes: str, usage: str) -> bytes:
    return text_bytes(
        f"""
# {instance_title}

`{handle}`, version {version}. Licence: {license}.

{notes}

This model is part of the kmenv example registry. Its weights are random and small: it shows what
real model files look like and how kmenv resolves, locks and installs them, not how to do a task.

## Use it with kmenv

```python
import kmenv

folder = kmenv.path("{usage}")  # "{usage}": whatever name your kmodels.yaml gives this model
```
"""
    )


ILLUSTRATIVE = "illustrative figure: the example's weights are random"
IRIS_DATA = "https://archive.ics.uci.edu/dataset/53/iris"


def metric(dataset: str, name: str, value: float) -> dict[str, object]:
    """One ``version.json`` metric, marked as illustrative."""
    return {"dataset": dataset, "metric": name, "value": value, "source": ILLUSTRATIVE}


BERT_WORDS = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    "the", "a", "model", "models", "lock", "file", "version", "install", "environment", "licence",
    "is", "are", "and", "of", "to", "in", "with", "kaggle", "resolve", "registry",
    ".", ",", "!", "?", "##s", "##ed", "##ing", "##er",
]  # fmt: skip
BERT_EXTRA_WORDS = ["adapter", "base", "policy", "store", "hash", "##ly"]


def bert_weights(vocab_size: int, seed: int) -> dict[str, Tensor]:
    """A one-layer BertModel (hidden 8, 2 heads), named exactly as transformers names it."""
    hidden, intermediate, positions = 8, 16, 32
    counter = iter(range(seed, seed + 1000))

    def normal(*shape: int) -> Tensor:
        return shape, random_values(next(counter), math.prod(shape))

    def ones(n: int) -> Tensor:
        return (n,), [1.0] * n

    def zeros(n: int) -> Tensor:
        return (n,), [0.0] * n

    weights: dict[str, Tensor] = {
        "embeddings.word_embeddings.weight": normal(vocab_size, hidden),
        "embeddings.position_embeddings.weight": normal(positions, hidden),
        "embeddings.token_type_embeddings.weight": normal(2, hidden),
        "embeddings.LayerNorm.weight": ones(hidden),
        "embeddings.LayerNorm.bias": zeros(hidden),
        "pooler.dense.weight": normal(hidden, hidden),
        "pooler.dense.bias": zeros(hidden),
    }
    layer = "encoder.layer.0."
    for part in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
        weights[f"{layer}{part}.weight"] = normal(hidden, hidden)
        weights[f"{layer}{part}.bias"] = zeros(hidden)
    for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
        weights[f"{layer}{norm}.weight"] = ones(hidden)
        weights[f"{layer}{norm}.bias"] = zeros(hidden)
    weights[f"{layer}intermediate.dense.weight"] = normal(intermediate, hidden)
    weights[f"{layer}intermediate.dense.bias"] = zeros(intermediate)
    weights[f"{layer}output.dense.weight"] = normal(hidden, intermediate)
    weights[f"{layer}output.dense.bias"] = zeros(hidden)
    return weights


def tiny_bert() -> Instance:
    title = "Tiny BERT"
    handle = f"{OWNER}/tiny-bert/transformers/base"
    notes = {
        1: "First release.",
        2: "Retrained; same vocabulary as version 1.",
        3: "Vocabulary extended with six tokens.",
        4: "Exported with transformers 4.50, which it now needs to load.",
    }
    dates = {1: "2024-01-15T09:00:00Z", 2: "2024-03-04T09:00:00Z", 3: "2024-06-20T09:00:00Z", 4: "2025-03-25T09:00:00Z"}
    versions = []
    for number in (1, 2, 3, 4):
        vocab = BERT_WORDS + (BERT_EXTRA_WORDS if number >= 3 else [])
        exported_with = "4.50.0" if number == 4 else "4.30.2"
        config = {
            "architectures": ["BertModel"],
            "attention_probs_dropout_prob": 0.0,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.0,
            "hidden_size": 8,
            "initializer_range": 0.02,
            "intermediate_size": 16,
            "layer_norm_eps": 1e-12,
            "max_position_embeddings": 32,
            "model_type": "bert",
            "num_attention_heads": 2,
            "num_hidden_layers": 1,
            "pad_token_id": 0,
            "position_embedding_type": "absolute",
            "torch_dtype": "float32",
            "transformers_version": exported_with,
            "type_vocab_size": 2,
            "vocab_size": len(vocab),
        }
        tokenizer_config = {
            "clean_up_tokenization_spaces": True,
            "cls_token": "[CLS]",
            "do_lower_case": True,
            "mask_token": "[MASK]",
            "model_max_length": 32,
            "pad_token": "[PAD]",
            "sep_token": "[SEP]",
            "tokenizer_class": "BertTokenizer",
            "unk_token": "[UNK]",
        }
        files = {
            "README.md": model_card(title, handle, number, "Apache 2.0", notes[number], "bert"),
            "config.json": json_bytes(config),
            "model.safetensors": safetensors(bert_weights(len(vocab), seed=100 * number), {"format": "pt"}),
            "tokenizer.json": wordpiece_tokenizer(vocab),
            "tokenizer_config.json": json_bytes(tokenizer_config),
            "vocab.txt": text_bytes("\n".join(vocab)),
        }
        requires = {"transformers": ">=4.50" if number == 4 else ">=4.30"}
        scores = {1: (0.71, 0.68), 2: (0.74, 0.72), 3: (0.78, 0.75), 4: (0.79, 0.77)}[number]
        metrics = [metric("glue/sst2", "accuracy", scores[0]), metric("glue/sst2", "f1", scores[1])]
        versions.append(Version(number, "Apache 2.0", dates[number], files, requires, metrics=metrics))
    return Instance(
        "tiny-bert",
        "transformers",
        "base",
        title,
        "A one-layer BERT encoder with a 33-word vocabulary, for trying kmenv. Version 4 needs a newer transformers.",
        versions,
    )


LM_WORDS = ["<unk>", "<s>", "</s>", "hello", "model", "world", "kmenv", "lock", "install", "the", "a", "is", "."]


def tiny_lm() -> Instance:
    title = "Tiny LM"
    handle = f"{OWNER}/tiny-lm/pyTorch/base"
    hidden = 8
    notes = {1: "First release.", 2: "Retrained on twice the text.", 3: "Retrained with a lower learning rate."}
    dates = {1: "2024-02-01T12:00:00Z", 2: "2024-05-10T12:00:00Z", 3: "2024-09-30T12:00:00Z"}
    versions = []
    for number in (1, 2, 3):
        config = {"architecture": "bigram-lm", "hidden_size": hidden, "vocab_size": len(LM_WORDS), "tie_weights": False}
        weights: dict[str, Tensor] = {
            "embed.weight": ((len(LM_WORDS), hidden), random_values(1000 + number, len(LM_WORDS) * hidden)),
            "head.weight": ((len(LM_WORDS), hidden), random_values(2000 + number, len(LM_WORDS) * hidden)),
            "head.bias": ((len(LM_WORDS),), [0.0] * len(LM_WORDS)),
        }
        files = {
            "README.md": model_card(title, handle, number, "Apache 2.0", notes[number], "tiny-lm"),
            "config.json": json_bytes(config),
            "model.safetensors": safetensors(weights, {"format": "pt"}),
            "tokenizer.json": wordlevel_tokenizer(LM_WORDS),
        }
        versions.append(Version(number, "Apache 2.0", dates[number], files, {"python": ">=3.9"}))
    return Instance(
        "tiny-lm",
        "pyTorch",
        "base",
        title,
        "A bigram language model (an embedding and a linear head) over 13 words; the base of tiny-lm-lora.",
        versions,
    )


def tiny_lm_lora() -> Instance:
    title = "Tiny LM chat adapter"
    handle = f"{OWNER}/tiny-lm-lora/pyTorch/chat"
    base_handle = f"{OWNER}/tiny-lm/pyTorch/base"
    rank, hidden = 2, 8
    notes = {
        1: "First release, trained on tiny-lm version 1.",
        2: "More chat examples; still works with any tiny-lm version.",
        3: "Trained on tiny-lm version 2, so it needs tiny-lm 2 or later.",
    }
    dates = {1: "2024-02-20T15:30:00Z", 2: "2024-04-11T15:30:00Z", 3: "2024-06-01T15:30:00Z"}
    versions = []
    for number in (1, 2, 3):
        adapter_config = {
            "base_model_name_or_path": base_handle,
            "bias": "none",
            "fan_in_fan_out": False,
            "inference_mode": True,
            "lora_alpha": 4,
            "lora_dropout": 0.0,
            "peft_type": "LORA",
            "r": rank,
            "target_modules": ["head"],
            "task_type": "CAUSAL_LM",
        }
        weights: dict[str, Tensor] = {
            "base_model.model.head.lora_A.weight": ((rank, hidden), random_values(3000 + number, rank * hidden)),
            "base_model.model.head.lora_B.weight": (
                (len(LM_WORDS), rank),
                random_values(4000 + number, len(LM_WORDS) * rank),
            ),
        }
        files = {
            "README.md": model_card(title, handle, number, "MIT", notes[number], "chat"),
            "adapter_config.json": json_bytes(adapter_config),
            "adapter_model.safetensors": safetensors(weights, {"format": "pt"}),
        }
        base = {"handle": base_handle, "versions": ">=2" if number == 3 else ">=1"}
        versions.append(Version(number, "MIT", dates[number], files, {"peft": ">=0.10"}, base))
    return Instance(
        "tiny-lm-lora",
        "pyTorch",
        "chat",
        title,
        "A LoRA adapter (rank 2) that tunes tiny-lm for chat; installing it brings its base model along.",
        versions,
    )


def bias_add() -> Instance:
    title = "Bias add"
    handle = f"{OWNER}/bias-add/onnx/fp32"
    licences = {1: "Apache 2.0", 2: "Apache 2.0", 3: "Attribution-NonCommercial 4.0 International (CC BY-NC 4.0)"}
    notes = {
        1: "First release.",
        2: "New bias values.",
        3: "Same model as version 2, relicensed for non-commercial use only (CC BY-NC 4.0).",
    }
    dates = {1: "2024-01-05T08:00:00Z", 2: "2024-02-14T08:00:00Z", 3: "2024-11-01T08:00:00Z"}
    biases = {1: [0.5, -0.5, 1.0, -1.0], 2: [0.25, 0.75, -0.25, -0.75], 3: [0.25, 0.75, -0.25, -0.75]}
    versions = []
    for number in (1, 2, 3):
        model = onnx_bias_add(biases[number], doc=f"{handle}: y = x + bias (float32, shape [1, 4])")
        files = {
            "README.md": model_card(title, handle, number, licences[number], notes[number], "adder"),
            "model.onnx": model,
        }
        versions.append(Version(number, licences[number], dates[number], files, {"onnxruntime": ">=1.16"}))
    return Instance(
        "bias-add",
        "onnx",
        "fp32",
        title,
        "An ONNX graph with one Add node: y = x + bias. Version 3 changed the licence to CC BY-NC 4.0.",
        versions,
    )


def iris() -> Instance:
    title = "Iris logistic regression"
    handle = f"{OWNER}/iris/scikitLearn/logistic-regression"
    notes = {1: "First release.", 2: "Refitted with stronger regularisation (C=0.5)."}
    dates = {1: "2024-03-12T10:00:00Z", 2: "2024-07-08T10:00:00Z"}
    versions = []
    for number in (1, 2):
        rng = random.Random(5000 + number)
        parameters = {
            "estimator": "sklearn.linear_model.LogisticRegression",
            "params": {"C": 1.0 if number == 1 else 0.5, "max_iter": 200},
            "feature_names_in_": ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"],
            "classes_": ["setosa", "versicolor", "virginica"],
            "coef_": [[round(rng.uniform(-2, 2), 4) for _ in range(4)] for _ in range(3)],
            "intercept_": [round(rng.uniform(-1, 1), 4) for _ in range(3)],
        }
        files = {
            "README.md": model_card(title, handle, number, "MIT", notes[number], "iris"),
            "parameters.json": json_bytes(parameters),
        }
        accuracy = {1: 0.953, 2: 0.967}[number]
        versions.append(
            Version(
                number,
                "MIT",
                dates[number],
                files,
                {"scikit-learn": ">=1.3"},
                metrics=[metric("iris", "accuracy", accuracy), metric("iris", "log_loss", round(1.15 - accuracy, 3))],
                training_data=[IRIS_DATA],
            )
        )
    return Instance(
        "iris",
        "scikitLearn",
        "logistic-regression",
        title,
        "Fitted parameters of a scikit-learn LogisticRegression over the four iris measurements.",
        versions,
    )


def flower_classifier() -> Instance:
    title = "Flower classifier"
    handle = f"{OWNER}/flower-classifier/keras/mobile"
    notes = {1: "First release.", 2: "Wider hidden layer (16 units)."}
    dates = {1: "2024-04-18T14:00:00Z", 2: "2024-08-22T14:00:00Z"}
    licence = "CC BY-SA 4.0"
    versions = []
    for number in (1, 2):
        units = 8 if number == 1 else 16

        def dense(name: str, size: int, activation: str) -> dict[str, object]:
            return {
                "module": "keras.layers",
                "class_name": "Dense",
                "config": {"name": name, "units": size, "activation": activation, "use_bias": True},
            }

        config = {
            "module": "keras",
            "class_name": "Sequential",
            "config": {
                "name": "flower_classifier",
                "layers": [
                    {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [None, 4]}},
                    dense("hidden", units, "relu"),
                    dense("output", 3, "softmax"),
                ],
            },
        }
        weights: dict[str, Tensor] = {
            "hidden.kernel": ((4, units), random_values(6000 + number, 4 * units, scale=0.5)),
            "hidden.bias": ((units,), [0.0] * units),
            "output.kernel": ((units, 3), random_values(7000 + number, units * 3, scale=0.5)),
            "output.bias": ((3,), [0.0] * 3),
        }
        files = {
            "README.md": model_card(title, handle, number, licence, notes[number], "flowers"),
            "config.json": json_bytes(config),
            "weights.npz": npz(weights),
        }
        accuracy = {1: 0.9, 2: 0.933}[number]
        versions.append(
            Version(
                number,
                licence,
                dates[number],
                files,
                metrics=[metric("iris", "accuracy", accuracy)],
                training_data=[IRIS_DATA],
            )
        )
    return Instance(
        "flower-classifier",
        "keras",
        "mobile",
        title,
        "A two-layer Keras classifier: its architecture as Keras config JSON and its weights as a NumPy archive.",
        versions,
    )


def tiny_gemma() -> Instance:
    title = "Tiny Gemma (GGUF)"
    handle = f"{OWNER}/tiny-gemma/gguf/q8_0"
    notes = {1: "First release.", 2: "Requantised from a newer checkpoint."}
    dates = {1: "2024-05-05T18:00:00Z", 2: "2024-10-15T18:00:00Z"}
    versions = []
    for number in (1, 2):
        files = {
            "README.md": model_card(title, handle, number, "Gemma", notes[number], "gemma"),
            "tiny-gemma-q8_0.gguf": gguf(f"Tiny Gemma v{number}", seed=8000 + number),
        }
        versions.append(Version(number, "Gemma", dates[number], files))
    return Instance(
        "tiny-gemma",
        "gguf",
        "q8_0",
        title,
        "A GGUF file with Q8_0-quantised weights, under the Gemma terms of use (a gated, custom licence).",
        versions,
    )


def instances() -> list[Instance]:
    return [tiny_bert(), tiny_lm(), tiny_lm_lora(), bias_add(), iris(), flower_classifier(), tiny_gemma()]


# -- source tree and build ------------------------------------------------------------------


def write_sources(root: Path) -> None:
    """Write the registry source tree (the layout ``kmenv registry build`` reads) under ``root``."""
    for instance in instances():
        folder = root / OWNER / instance.model / instance.framework / instance.variation
        folder.mkdir(parents=True)
        (folder / "instance.json").write_bytes(
            json_bytes({"title": instance.title, "description": instance.description})
        )
        for version in instance.versions:
            version_folder = folder / str(version.number)
            version_folder.mkdir()
            meta: dict[str, object] = {"license": version.license, "published": version.published}
            if version.requires:
                meta["requires"] = version.requires
            if version.base:
                meta["base"] = version.base
            if version.metrics:
                meta["metrics"] = version.metrics
            if version.training_data:
                meta["training_data"] = version.training_data
            (version_folder / "version.json").write_bytes(json_bytes(meta))
            for path, data in version.files.items():
                target = version_folder / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)


def build_example(out: Path = DEFAULT_OUT) -> BuildReport:
    """Generate the sources in a temporary folder and build the registry into ``out``."""
    with tempfile.TemporaryDirectory(prefix="kmenv-example-source-") as tmp:
        write_sources(Path(tmp))
        return build_registry(Path(tmp), out, name=REGISTRY_NAME)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    report = build_example(args.out)
    print(f"built {args.out}: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
