"""Find the procedure a citizen means, with a verdict: clear, ambiguous or unknown."""

from __future__ import annotations

import itertools
import logging
import math
import threading
from dataclasses import dataclass, field

import numpy as np

from knowledge import catalog as catalog_mod
from knowledge import index as index_mod
from knowledge.embedding import Encoder, SentenceTransformerEncoder, resolve_model
from knowledge.schema import LANGS, Procedure
from knowledge.settings import KnowledgeSettings
from knowledge.text import detect_language, fold, fold_bengali, has_diacritics, words

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
        corpus = [self.tokens(lexical_text(r, lang)) for r in records]
        if records and any(corpus):
            self._bm25.index(corpus, show_progress=False)
        else:
            self.codes = []
        self._rows = {code: row for row, code in enumerate(self.codes)}

    def tokens(self, text: str) -> list[str]:
        if self.lang == "vi":
            return lexical_tokens(text)
        if self.lang == "en":
            # Snowball stems: "registering" and "registered" meet "register", "certificates" meets
            # "certificate". Over the full import, English development questions 0.894 -> 0.913
            # recall@1; our catalogue alone is unchanged.
            return _english_stemmer().stemWords(words(text.lower()))
        return words(fold_bengali(text))

    def top(self, text: str, depth: int) -> dict[str, float]:
        tokens = self.tokens(text)
        if not tokens or not self.codes:
            return {}
        scores = self._bm25.get_scores(tokens)
        best = np.argsort(-scores)[:depth]
        return {self.codes[i]: float(scores[i]) for i in best if scores[i] > 0}

    def covered(self, tokens: list[str], codes: list[str]) -> float:
        """The largest share of a question's word pairs (its words, if it has one) that one of these
        procedures contains; `tokens` as `self.tokens` gives them. Unlike BM25, a word found
        everywhere ("hộ chiếu") still counts in full."""
        pairs = [t for t in tokens if "_" in t]
        terms = list(dict.fromkeys(pairs or tokens))
        rows = [self._rows[c] for c in codes if c in self._rows]
        if not terms or not rows:
            return 0.0
        found = np.zeros(len(rows))
        for term in terms:
            found += self._bm25.get_scores([term])[rows] > 0
        return float(found.max()) / len(terms)


_stemmers = threading.local()


def _english_stemmer():  # type: ignore[no-untyped-def]
    """One Snowball stemmer per thread: PyStemmer's are not safe to share between threads."""
    stemmer = getattr(_stemmers, "english", None)
    if stemmer is None:
        import Stemmer

        stemmer = _stemmers.english = Stemmer.Stemmer("english")
    return stemmer


def lexical_text(record: Procedure, lang: str = "vi") -> str:
    title = getattr(record.title, lang) or ""
    parts = [title, title, *getattr(record.everyday_names, lang), getattr(record.summary, lang) or ""]
    # An import has no everyday names or stored questions: what the procedure asks for (its
    # conditions and more of its documents) is the rest of what a portal question can match.
    # Portal-FAQ recall@1 over the full import 0.650 -> 0.670; on our own records the same lowered
    # the development set, so they keep six documents and no conditions.
    imported = record.origin == "import"
    parts += [getattr(d.name, lang) or "" for d in record.documents[: 12 if imported else 6]]
    if imported and record.conditions:
        parts.append(getattr(record.conditions, lang) or "")
    parts += getattr(record.questions, lang) + (record.questions.vi_plain if lang == "vi" else [])
    return " . ".join(p for p in parts if p)


def lexical_tokens(text: str) -> list[str]:
    """Folded syllables plus adjacent pairs: Vietnamese words are often two syllables ("khai sinh")."""
    syllables = words(fold(text))
    return syllables + [f"{a}_{b}" for a, b in itertools.pairwise(syllables)]


# Some procedures come as twins that differ only by channel: "... (fully online)" and "... (in person
# or partly online)". A question that says it wants to do it online means the first. Cues are
# matched on folded, lower-cased words; Bengali, folded too, by prefix (অনলাইন covers অনলাইনে).
ONLINE_CUES = (
    "truc tuyen", "online", "qua mang", "tren mang", "dich vu cong", "toan trinh", "vneid",
    "khong can den", "khong phai den", "without going", "from home", "internet", "portal",
    "অনলাইন", "ইন্টারনেট", "ঘরে বসে", "না গিয়ে",
)  # fmt: skip
ONLINE_TITLES = ("truc tuyen toan trinh", "lam truc tuyen")  # in the folded Vietnamese title
_ONLINE_ASCII = tuple(f" {cue}" for cue in ONLINE_CUES if cue.isascii())
_ONLINE_BENGALI = tuple(fold_bengali(cue) for cue in ONLINE_CUES if not cue.isascii())


def asks_online(text: str) -> bool:
    folded = " " + " ".join(words(fold(text))) + " "
    bengali = fold_bengali(text)
    return any(cue in folded for cue in _ONLINE_ASCII) or any(cue in bengali for cue in _ONLINE_BENGALI)


def fully_online_twin(record: Procedure) -> bool:
    title = " ".join(words(fold(record.title.vi)))
    return any(mark in title for mark in ONLINE_TITLES)


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
    # Set with `python -m scripts.tune_retrieval` on knowledge/eval/devset.jsonl; checked on
    # knowledge/eval/heldout.jsonl, which is never tuned on.
    question_weight: float = 0.7  # share of a procedure's dense score that comes from its stored questions
    question_gap: float = 0.06  # a procedure without stored questions: its text score plus this
    # ...and for the verdict, a little less: out-of-scope questions also come near some of the
    # thousands of imported summaries (full import: everyday out of scope rejected 0.83 -> 0.96,
    # portal-FAQ questions answered 1.0 -> 0.985).
    imported_evidence_gap: float = 0.04
    # Out of scope when no stored procedure question comes near (e5 places paraphrases of one
    # question above 0.9), or when a stored out-of-scope question comes nearer than any procedure
    # question; both sides are encoded the same way, so neither cut moves with the catalogue.
    unknown_question_below: float = 0.91
    outside_margin: float = 0.01
    # ...a margin that shrinks as the question shares more words with the catalogue in its own
    # language (Signals.matched): by 0.04 per unit of match above 0.3. On the development set,
    # refusals of real Vietnamese questions 2.5% -> 0.6% at the same out-of-scope rejection.
    outside_margin_per_match: float = 0.04
    match_pivot: float = 0.3
    # Vietnamese typed without diacritics reads to e5 as much alike whatever it says: it also needs
    # catalogue words, and the absolute cut does not apply. Words count when BM25 matches strongly
    # (Signals.matched), or when one procedure holds half the question's word pairs
    # (Signals.covered: "ho chieu", "so do" are in many procedures, so BM25 scores them low). On the
    # development set, the second condition halved the refusals (4.3% -> 1.9%) at the same
    # out-of-scope rejection.
    unknown_lexical_plain_below: float = 0.375
    unknown_covered_plain_below: float = 0.5
    outside_margin_plain: float = -0.01
    ambiguous_within: float = 0.008  # second best this close to the best: let the citizen choose
    # How much a strong BM25 match adds to a Vietnamese query. 0.15 would gain one development
    # question on our catalogue and lose three portal-FAQ questions over the full import.
    lexical_weight: float = 0.3
    lexical_weight_plain: float = 0.4  # the same for Vietnamese typed without diacritics
    lexical_weight_other: float = 0.4  # English and Bengali, against our own text in that language
    lexical_half: float = 32.0  # BM25 score at which the lexical bonus is half its weight
    # A fully-online twin (ONLINE_TITLES) gains this when the question asks to do it online. On
    # the development set: 2 more Bengali questions right at rank 1, none lost, from 0.005 to 0.02.
    # The same rule for "with a foreign element" twins lost 1 to 3 questions, so there is none.
    online_bonus: float = 0.01


@dataclass(frozen=True)
class Signals:
    """Raw scores of one question: best passage per procedure, split by kind, and BM25."""

    texts: dict[str, float]  # best passage of the procedure's own text (title, names, summary, documents)
    asked: dict[str, float]  # best of its stored citizen questions
    outside: float  # best stored out-of-scope question
    lexical: dict[str, float]  # BM25
    language: str  # detected: vi, en or bn
    plain: bool  # Vietnamese typed without diacritics
    matched: float = 0.0  # best BM25 score, scaled to the question's length and the corpus size
    covered: float = 0.0  # typed without diacritics: see LexicalIndex.covered, over the top 5 of BM25
    online: bool = False  # the question asks to do it online (ONLINE_CUES)


@dataclass(frozen=True)
class Ranking:
    """Scores of the candidates of one query, before the verdict."""

    dense: dict[str, float]
    lexical: dict[str, float]
    fused: dict[str, float]
    language: str = "vi"  # detected: vi, en or bn
    plain: bool = False  # Vietnamese typed without diacritics
    mode: str = HYBRID
    outside: float = -1.0  # best score of a stored out-of-scope question
    evidence: float = -1.0  # best score of a stored procedure question (see Retriever.combine)
    matched: float = 0.0  # see Signals
    covered: float = 0.0  # see Signals


class Retriever:
    """Dense retrieval over pooled procedure passages, fused with BM25 on diacritic-folded Vietnamese."""

    ROWS_PER_PROCEDURE = 20  # FAISS rows read per procedure wanted: each has dozens of passages

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
        self._plain = [p.kind.endswith("_plain") for p in loaded.passages]
        self._question = [p.is_question for p in loaded.passages]
        self._asks = {p.code for p in loaded.passages if p.kind.startswith("question")}
        self._online = {r.code for r in records if fully_online_twin(r)}

    @property
    def model_id(self) -> str:
        return self.encoder.model_id

    def rank(self, text: str, depth: int = 50, mode: str = HYBRID) -> Ranking:
        """Dense scores, BM25 scores, and their fusion (see `signals` and `combine`)."""
        return self.combine(self.signals(text, depth, mode), mode)

    def signals(self, text: str, depth: int = 50, mode: str = HYBRID) -> Signals:
        """What the index and BM25 say about a question, before any weighting.

        HYBRID and DENSE search the FAISS index; HYBRID and LEXICAL ask BM25. HYBRID's BM25 is in
        the query's language (Vietnamese BM25 hurts English and Bengali questions, our own English
        and Bengali text helps them); LEXICAL is the Vietnamese BM25 baseline over every record.
        """
        language = detect_language(text)
        plain = language == "vi" and not has_diacritics(text)
        texts: dict[str, float] = {}
        asked: dict[str, float] = {}
        outside = -1.0
        if mode != LEXICAL:
            query = self.encoder.encode_queries([text])
            rows_wanted = min(len(self._codes), depth * self.ROWS_PER_PROCEDURE)
            scores, rows = self.loaded.index.search(query, rows_wanted)  # type: ignore[attr-defined]
            for score, row in zip(scores[0].tolist(), rows[0].tolist(), strict=True):
                # FAISS pads with -1; passages without diacritics only serve queries typed without them.
                if row < 0 or (self._plain[row] and not plain):
                    continue
                code = self._codes[row]
                if code == index_mod.OUTSIDE:
                    outside = max(outside, score)
                    continue
                best = asked if self._question[row] else texts
                if score > best.get(code, -1.0):
                    best[code] = score
        lexical_lang = "vi" if mode == LEXICAL else (language or "vi")
        lexicon = self.lexical[lexical_lang]
        lexical = lexicon.top(text, depth) if mode != DENSE else {}
        # BM25 grows with the number of terms and, through IDF, with the corpus: divided by the
        # square root of the one and the log of the other, a two-word name typed at a kiosk and a
        # long question, over our catalogue or a full import, get comparable scores.
        tokens = lexicon.tokens(text)
        scale = math.sqrt(max(1, len(tokens))) * math.log(1 + max(1, len(lexicon.codes)))
        matched = max(lexical.values(), default=0.0) / scale
        covered = lexicon.covered(tokens, sorted(lexical, key=lexical.__getitem__)[-5:]) if plain else 0.0
        return Signals(texts, asked, outside, lexical, lexical_lang, plain, matched, covered, asks_online(text))

    def combine(self, signals: Signals, mode: str = HYBRID, thresholds: Thresholds | None = None) -> Ranking:
        """Pool dense scores per procedure and add the lexical bonus.

        A procedure's dense score averages its best text passage and its best stored question. A
        procedure without stored questions (an import) counts `question_gap` above its text score,
        about what a question of its own adds (median on the development set). A candidate found
        on one side only takes the other side's weakest score.
        """
        t = thresholds or self.thresholds
        s = signals
        floor_text = min(s.texts.values(), default=-1.0)
        floor_asked = min(s.asked.values(), default=-1.0)
        dense: dict[str, float] = {}
        evidence = -1.0
        for code in s.texts.keys() | s.asked.keys():
            text = s.texts.get(code, floor_text)
            if code in self._asks:
                question = s.asked.get(code, floor_asked)
                evidence = max(evidence, question)
            else:
                question = text + t.question_gap
                evidence = max(evidence, text + t.imported_evidence_gap)
            dense[code] = (1 - t.question_weight) * text + t.question_weight * question
        if mode == LEXICAL:
            fused = dict(s.lexical)
        elif s.language != "vi":
            fused = fuse(dense, s.lexical, t.lexical_weight_other, t.lexical_half)
        else:
            fused = fuse(dense, s.lexical, t.lexical_weight_plain if s.plain else t.lexical_weight, t.lexical_half)
        if mode != LEXICAL and s.online:
            for code in fused.keys() & self._online:
                fused[code] += t.online_bonus
        return Ranking(dense, s.lexical, fused, s.language, s.plain, mode, s.outside, evidence, s.matched, s.covered)

    def search(self, text: str, k: int = 5, mode: str = HYBRID) -> Result:
        text = " ".join(text.split())
        if not text:
            return Result(UNKNOWN)
        ranking = self.rank(text, depth=max(k, 50), mode=mode)
        ordered = sorted(ranking.fused.items(), key=lambda item: -item[1])
        hits = [Hit(code, score, self.records[code]) for code, score in ordered[:k]]
        if mode == LEXICAL:
            return Result(CLEAR if hits else UNKNOWN, hits)
        return Result(self.verdict(hits, ranking), hits)

    def relevant(self, ranking: Ranking, thresholds: Thresholds | None = None) -> bool:
        """Whether the catalogue has anything for this question at all."""
        t = thresholds or self.thresholds
        if ranking.mode == LEXICAL:
            return True
        if ranking.plain:
            weak = ranking.matched < t.unknown_lexical_plain_below and ranking.covered < t.unknown_covered_plain_below
            if ranking.mode == HYBRID and weak:
                return False
            return ranking.evidence - ranking.outside >= t.outside_margin_plain
        if ranking.evidence < t.unknown_question_below:
            return False
        margin = t.outside_margin - t.outside_margin_per_match * (ranking.matched - t.match_pivot)
        return ranking.evidence - ranking.outside >= margin

    def verdict(self, hits: list[Hit], ranking: Ranking) -> str:
        t = self.thresholds
        if not hits or not self.relevant(ranking):
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
