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

    def encode_questions(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self.encode_passages(texts, progress)


@pytest.fixture
def retriever(settings, fake_encoder):  # type: ignore[no-untyped-def]
    """A retriever over the catalogue copy, with the fake encoder: any word overlap counts."""
    from knowledge import index as index_mod
    from knowledge.catalog import load_catalog
    from knowledge.retriever import Retriever, Thresholds

    records = load_catalog(settings.catalog_dir)
    version = index_mod.index_version(records)
    index_mod.build(records, fake_encoder, settings.index_dir, version)
    loaded = index_mod.load(settings.index_dir, fake_encoder.model_id, version, records)
    return Retriever(
        records, fake_encoder, loaded, Thresholds(unknown_question_below=0.55, outside_margin=0.0, ambiguous_within=0.0)
    )


# One applicant's filing draft, as the app database stores it.
DRAFT_DETAILS: dict[str, Any] = {
    "sender_id": "citizen-0001-4f7e2a",
    "procedure_code": "1.001193",
    "procedure_title": "Đăng ký khai sinh",
    "language": "vi",
    "full_name": "Nguyễn Văn An",
    "cccd": "001090012345",
    "dob": "1990-03-15",
    "phone": "0912345678",
    "commune": "Phường Đông Kinh",
    "delivery": "centre",
    "online": "full",
    "portal_url": "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=1.001193",
}


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
def app_config(tmp_path: Path) -> dict[str, Any]:
    # Port 9 (discard) on loopback: nothing listens, so every call to Rasa fails fast. The app
    # database is a scratch SQLite file: tests never touch var/.
    return {
        "TESTING": True,
        "RASA_URL": "http://127.0.0.1:9",
        "ACTIONS_URL": "http://127.0.0.1:9",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'web-app.db'}",
    }


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
