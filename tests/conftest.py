"""Shared fixtures: a deterministic fake encoder, a small catalogue on disk, the Flask test client."""

from __future__ import annotations

import shutil
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from knowledge.settings import PROJECT_ROOT, KnowledgeSettings

CATALOG = PROJECT_ROOT / "knowledge" / "data" / "catalog"


class FakeEncoder:
    """Bag of hashed words: texts sharing words get similar vectors. Deterministic (crc32, not hash())."""

    def __init__(self, model_id: str = "fake-model", dim: int = 2048) -> None:
        self.model_id = model_id
        self.dim = dim
        self.calls = 0

    def _vec(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in text.lower().split():
            vec[zlib.crc32(word.encode("utf-8")) % self.dim] += 1.0
        norm = np.linalg.norm(vec)
        return vec / norm if norm else vec

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts])

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.calls += len(texts)
        return np.stack([self._vec(t) for t in texts])


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A copy of our catalogue in a temporary data folder, so tests never touch the real one."""
    shutil.copytree(CATALOG, tmp_path / "catalog")
    return tmp_path


@pytest.fixture
def settings(data_dir: Path, tmp_path: Path) -> KnowledgeSettings:
    return KnowledgeSettings.from_env({"ASSIST_DATA_DIR": str(data_dir), "ASSIST_CACHE_DIR": str(tmp_path / "cache")})


@pytest.fixture
def real_settings() -> KnowledgeSettings:
    """The default catalogue and model cache, as `make index` prepared them."""
    return KnowledgeSettings.from_env({})


@pytest.fixture
def app_config() -> dict[str, Any]:
    # Port 9 (discard) on loopback: nothing listens, so every call to Rasa fails fast.
    return {"TESTING": True, "RASA_URL": "http://127.0.0.1:9", "ACTIONS_URL": "http://127.0.0.1:9"}


@pytest.fixture
def app(app_config: dict[str, Any]):  # type: ignore[no-untyped-def]
    from web import create_app

    return create_app(app_config)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (marked `anyio`) run on asyncio, as the action server does."""
    return "asyncio"
