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
from knowledge.schema import LANGS, Procedure
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
    """BM25 (bm25s) over each procedure's text in one language.

    Vietnamese is folded (diacritics removed) and indexed as syllables plus syllable pairs, so a
    question typed without diacritics matches; English and Bengali are indexed as lower-cased words.
    """

    def __init__(self, records: list[Procedure], lang: str = "vi") -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
        self.lang = lang
        self.codes = [r.code for r in records]
        self._bm25 = bm25s.BM25()
        corpus = [self.tokens(_lexical_text(r, lang)) for r in records]
        if records and any(corpus):
            self._bm25.index(corpus, show_progress=False)
        else:
            self.codes = []

    def tokens(self, text: str) -> list[str]:
        return lexical_tokens(text) if self.lang == "vi" else words(text.lower())

    def top(self, text: str, depth: int) -> dict[str, float]:
        tokens = self.tokens(text)
        if not tokens or not self.codes:
            return {}
        scores = self._bm25.get_scores(tokens)
        best = np.argsort(-scores)[:depth]
        return {self.codes[i]: float(scores[i]) for i in best if scores[i] > 0}


def _lexical_text(record: Procedure, lang: str = "vi") -> str:
    title = getattr(record.title, lang) or ""
    parts = [title, title, *getattr(record.everyday_names, lang), getattr(record.summary, lang) or ""]
    parts += [getattr(d.name, lang) or "" for d in record.documents[:6]]
    return " . ".join(p for p in parts if p)


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
    # on knowledge/eval/devset.jsonl. The unknown cut looks at the best *dense* score, in the
    # question's language: the lexical bonus says how many words matched, not whether the
    # catalogue answers the question.
    unknown_below: float = 0.865  # best dense score of a Vietnamese question below this: nothing relevant
    unknown_offset_en: float = -0.005  # English questions score a little lower against our passages
    unknown_offset_bn: float = -0.01  # and Bengali ones lower still
    # Typed without diacritics, in-scope and out-of-scope questions get the same dense scores; what
    # tells them apart is whether any catalogue words matched (best BM25 score).
    unknown_lexical_plain_below: float = 6.0
    unknown_lift_below: float = 0.0  # best score minus the 10th best below this: nothing stands out
    ambiguous_within: float = 0.004  # second best this close to the best: let the citizen choose
    lexical_weight: float = 0.15  # how much a strong BM25 match adds to a Vietnamese query
    lexical_weight_plain: float = 0.8  # the same for Vietnamese typed without diacritics
    lexical_weight_other: float = 0.4  # English and Bengali, against our own text in that language
    lexical_half: float = 32.0  # BM25 score at which the lexical bonus is half its weight


@dataclass(frozen=True)
class Ranking:
    """Scores of the candidates of one query, before the verdict."""

    dense: dict[str, float]
    lexical: dict[str, float]
    fused: dict[str, float]
    language: str = "vi"  # detected: vi, en or bn
    plain: bool = False  # Vietnamese typed without diacritics
    mode: str = HYBRID


class Retriever:
    """Dense retrieval over pooled procedure passages, fused with BM25 on diacritic-folded Vietnamese."""

    def __init__(
        self,
        records: list[Procedure],
        encoder: Encoder,
        loaded: index_mod.LoadedIndex,
        thresholds: Thresholds | None = None,
        lexical: dict[str, LexicalIndex] | None = None,
    ) -> None:
        self.records = {r.code: r for r in records}
        self.encoder = encoder
        self.loaded = loaded
        self.thresholds = thresholds or Thresholds()
        self.lexical = lexical if lexical is not None else {lang: LexicalIndex(records, lang) for lang in LANGS}
        self._codes = [p.code for p in loaded.passages]
        self._plain = np.array([p.kind.endswith("_plain") for p in loaded.passages], dtype=bool)

    @property
    def model_id(self) -> str:
        return self.encoder.model_id

    def rank(self, text: str, depth: int = 50, mode: str = HYBRID) -> Ranking:
        """Dense scores (max over a procedure's passages), BM25 scores, and their fusion.

        HYBRID adds BM25 in the query's language: Vietnamese BM25 scores hurt English and Bengali
        questions, but BM25 over our own English and Bengali text helps them (measured in
        `make bench`). DENSE and LEXICAL are the two halves alone, for comparison; LEXICAL is the
        Vietnamese BM25 baseline over every record, including imports.
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
        lexical_lang = "vi" if mode == LEXICAL else (language or "vi")
        lexical = self.lexical[lexical_lang].top(text, depth) if mode != DENSE else {}
        if mode == LEXICAL:
            return Ranking(dense, lexical, dict(lexical), lexical_lang, plain_vi, mode)
        t = self.thresholds
        if lexical_lang != "vi":
            weight = t.lexical_weight_other
        else:
            weight = t.lexical_weight_plain if plain_vi else t.lexical_weight
        return Ranking(dense, lexical, fuse(dense, lexical, weight, t.lexical_half), lexical_lang, plain_vi, mode)

    def search(self, text: str, k: int = 5, mode: str = HYBRID) -> Result:
        text = " ".join(text.split())
        if not text:
            return Result(UNKNOWN)
        ranking = self.rank(text, depth=max(k, 50), mode=mode)
        ordered = sorted(ranking.fused.items(), key=lambda item: -item[1])
        hits = [Hit(code, score, self.records[code]) for code, score in ordered[:k]]
        if mode == LEXICAL:
            return Result(CLEAR if hits else UNKNOWN, hits)
        return Result(self.verdict(hits, ranking, lift(ordered)), hits)

    def relevant(self, ranking: Ranking) -> bool:
        """Whether the catalogue has anything for this question at all."""
        t = self.thresholds
        if ranking.plain and ranking.mode == HYBRID:
            return max(ranking.lexical.values(), default=0.0) >= t.unknown_lexical_plain_below
        offset = {"en": t.unknown_offset_en, "bn": t.unknown_offset_bn}.get(ranking.language, 0.0)
        return max(ranking.dense.values(), default=-1.0) >= t.unknown_below + offset

    def verdict(self, hits: list[Hit], ranking: Ranking, lift: float) -> str:
        t = self.thresholds
        if not hits or not self.relevant(ranking) or lift < t.unknown_lift_below:
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
