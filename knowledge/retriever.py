"""Find the procedure a citizen means, with a verdict: clear, ambiguous or unknown."""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass, field

import numpy as np

from knowledge import catalog as catalog_mod
from knowledge import index as index_mod
from knowledge.embedding import Encoder, SentenceTransformerEncoder, resolve_model
from knowledge.schema import Procedure
from knowledge.settings import KnowledgeSettings
from knowledge.text import detect_language, fold, has_diacritics, words

HYBRID, DENSE, LEXICAL = "hybrid", "dense", "bm25"
MODES = (HYBRID, DENSE, LEXICAL)
CLEAR = "clear"
AMBIGUOUS = "ambiguous"
UNKNOWN = "unknown"


def fuse(dense: dict[str, float], lexical: dict[str, float], weight: float, half: float) -> dict[str, float]:
    """Dense cosine plus a saturating BM25 bonus; BM25-only candidates start from the weakest dense score."""
    floor = min(dense.values(), default=0.0)
    fused = {}
    for code in dense.keys() | lexical.keys():
        bm25 = lexical.get(code, 0.0)
        bonus = weight * bm25 / (bm25 + half) if bm25 > 0 else 0.0
        fused[code] = dense.get(code, floor) + bonus
    return fused


def lift(ordered: list[tuple[str, float]], rank: int = 10) -> float:
    """How far the best candidate stands above the `rank`-th: small when nothing is really relevant."""
    if not ordered:
        return 0.0
    return ordered[0][1] - ordered[min(rank, len(ordered)) - 1][1]


class LexicalIndex:
    """BM25 (bm25s) over each procedure's Vietnamese text, diacritics folded, words and word pairs."""

    def __init__(self, records: list[Procedure]) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
        self.codes = [r.code for r in records]
        self._bm25 = bm25s.BM25()
        if records:
            self._bm25.index([lexical_tokens(_lexical_text(r)) for r in records], show_progress=False)

    def top(self, text: str, depth: int) -> dict[str, float]:
        tokens = lexical_tokens(text)
        if not tokens or not self.codes:
            return {}
        scores = self._bm25.get_scores(tokens)
        best = np.argsort(-scores)[:depth]
        return {self.codes[i]: float(scores[i]) for i in best if scores[i] > 0}


def _lexical_text(record: Procedure) -> str:
    parts = [record.title.vi, record.title.vi, *record.everyday_names.vi, record.summary.vi]
    parts += [d.name.vi for d in record.documents[:6]]
    return " . ".join(parts)


def lexical_tokens(text: str) -> list[str]:
    """Folded syllables plus adjacent pairs: Vietnamese words are often two syllables ("khai sinh")."""
    syllables = words(fold(text))
    return syllables + [f"{a}_{b}" for a, b in itertools.pairwise(syllables)]


class KnowledgeUnavailable(RuntimeError):
    """The catalogue or index cannot be used; the message is safe to show staff."""


@dataclass(frozen=True)
class Hit:
    code: str
    score: float
    procedure: Procedure


@dataclass(frozen=True)
class Result:
    verdict: str
    hits: list[Hit] = field(default_factory=list)

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None


@dataclass(frozen=True)
class Thresholds:
    # Cosine scores of multilingual-e5 sit high (0.7-0.9). Set with `python -m scripts.tune_retrieval`
    # on knowledge/eval/devset.jsonl: the unknown cut refuses at most 5% of real questions.
    unknown_below: float = 0.86  # best fused score below this: nothing relevant
    unknown_lift_below: float = 0.0  # best score minus the 10th best below this: nothing stands out
    ambiguous_within: float = 0.004  # second best this close to the best: let the citizen choose
    lexical_weight: float = 0.15  # how much a strong BM25 match adds to a Vietnamese query
    lexical_weight_plain: float = 0.8  # the same for Vietnamese typed without diacritics
    lexical_half: float = 32.0  # BM25 score at which the lexical bonus is half its weight


@dataclass(frozen=True)
class Ranking:
    """Scores of the candidates of one query, before the verdict."""

    dense: dict[str, float]
    lexical: dict[str, float]
    fused: dict[str, float]


class Retriever:
    """Dense retrieval over pooled procedure passages, fused with BM25 on diacritic-folded Vietnamese."""

    def __init__(
        self,
        records: list[Procedure],
        encoder: Encoder,
        loaded: index_mod.LoadedIndex,
        thresholds: Thresholds | None = None,
        lexical: LexicalIndex | None = None,
    ) -> None:
        self.records = {r.code: r for r in records}
        self.encoder = encoder
        self.loaded = loaded
        self.thresholds = thresholds or Thresholds()
        self.lexical = lexical if lexical is not None else LexicalIndex(records)
        self._codes = [p.code for p in loaded.passages]
        self._plain = np.array([p.kind.endswith("_plain") for p in loaded.passages], dtype=bool)

    @property
    def model_id(self) -> str:
        return self.encoder.model_id

    def rank(self, text: str, depth: int = 50, mode: str = HYBRID) -> Ranking:
        """Dense scores (max over a procedure's passages), BM25 scores, and their fusion.

        HYBRID adds BM25 only for Vietnamese-looking queries (lexical scores hurt English and Bengali);
        DENSE and LEXICAL are the two halves alone, for comparison.
        """
        dense: dict[str, float] = {}
        language = detect_language(text)
        plain_vi = language == "vi" and not has_diacritics(text)
        if mode != LEXICAL:
            query = self.encoder.encode_queries([text])
            scores, rows = self.loaded.index.search(query, min(len(self._codes), depth * 4))  # type: ignore[attr-defined]
            for score, row in zip(scores[0], rows[0], strict=True):
                # FAISS pads with -1; passages without diacritics only serve queries typed without them.
                if row < 0 or (self._plain[row] and not plain_vi):
                    continue
                code = self._codes[row]
                if score > dense.get(code, -np.inf):
                    dense[code] = float(score)
        use_lexical = mode == LEXICAL or (mode == HYBRID and language == "vi")
        lexical = self.lexical.top(text, depth) if use_lexical else {}
        if mode == LEXICAL:
            return Ranking(dense, lexical, dict(lexical))
        t = self.thresholds
        weight = t.lexical_weight_plain if plain_vi else t.lexical_weight
        return Ranking(dense, lexical, fuse(dense, lexical, weight, t.lexical_half))

    def search(self, text: str, k: int = 5, mode: str = HYBRID) -> Result:
        text = " ".join(text.split())
        if not text:
            return Result(UNKNOWN)
        ranking = self.rank(text, depth=max(k, 50), mode=mode)
        ordered = sorted(ranking.fused.items(), key=lambda item: -item[1])
        hits = [Hit(code, score, self.records[code]) for code, score in ordered[:k]]
        if mode == LEXICAL:
            return Result(CLEAR if hits else UNKNOWN, hits)
        return Result(self._verdict(hits, lift(ordered)), hits)

    def _verdict(self, hits: list[Hit], lift: float) -> str:
        t = self.thresholds
        if not hits or hits[0].score < t.unknown_below or lift < t.unknown_lift_below:
            return UNKNOWN
        if len(hits) > 1 and hits[0].score - hits[1].score < t.ambiguous_within:
            return AMBIGUOUS
        return CLEAR


def open_retriever(settings: KnowledgeSettings, encoder: Encoder | None = None) -> Retriever:
    """Load catalogue, model and index; refuse a stale index with a message saying how to rebuild."""
    try:
        records = catalog_mod.load_catalog(settings.catalog_dir, settings.imported_dir)
        version = index_mod.index_version(records)
        model_id = encoder.model_id if encoder else resolve_model(settings)[1]
        loaded = index_mod.load(settings.index_dir, model_id, version, records)
    except (catalog_mod.CatalogError, index_mod.IndexUnusable) as exc:
        raise KnowledgeUnavailable(str(exc)) from exc
    return Retriever(records, encoder or SentenceTransformerEncoder(settings), loaded)


class LazyRetriever:
    """Opens the retriever on first use (or on `warm()`), once, from any thread."""

    def __init__(self, settings: KnowledgeSettings | None = None) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._retriever: Retriever | None = None
        self.error: str | None = None

    def get(self) -> Retriever:
        if self._retriever is None:
            with self._lock:
                if self._retriever is None:
                    try:
                        self._retriever = open_retriever(self._settings or KnowledgeSettings.from_env())
                        self.error = None
                    except KnowledgeUnavailable as exc:
                        self.error = str(exc)
                        raise
        return self._retriever

    @property
    def ready(self) -> bool:
        return self._retriever is not None
