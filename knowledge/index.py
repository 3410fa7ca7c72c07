"""The FAISS index of procedure passages: built from the catalogue, tied to one model and one catalogue version."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from knowledge.catalog import fingerprint
from knowledge.embedding import Encoder
from knowledge.schema import LANGS, Procedure
from knowledge.settings import PROJECT_ROOT
from knowledge.text import fold

INDEX_FILE = "passages.faiss"
VECTORS_FILE = "vectors.npy"
META_FILE = "meta.json"
REBUILD_HINT = "rebuild it with `make index` (or `python -m knowledge build`)"
# Exact search scans every vector; above this many passages a graph index (HNSW) answers in well
# under a millisecond with recall@10 close to exact (measured in `make bench`).
HNSW_ABOVE = 4096
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, 64
# Bump when passages_of changes, so existing indexes are rebuilt rather than silently outdated.
PASSAGE_SCHEME = 6
# Questions no procedure answers (weather, prices, health...), in each language. They sit in the
# index beside the procedures: a question nearer to them than to any procedure is out of scope.
OUTSIDE_FILE = PROJECT_ROOT / "knowledge" / "data" / "out_of_scope.yml"
# Public-service matters our catalogue does not handle (work permits, visas...). Each group names
# the official codes that would answer it, and is left out when the catalogue holds one of them.
ELSEWHERE_FILE = PROJECT_ROOT / "knowledge" / "data" / "not_in_catalogue.yml"
OUTSIDE = ""  # the code of an out-of-scope passage
_OUTSIDE_LANGS = ("vi", "vi_plain", "en", "bn")


def index_version(records: list[Procedure]) -> str:
    """What an index must have been built from: this catalogue, the out-of-scope questions, this scheme."""
    questions = outside_questions({r.code for r in records})
    outside = hashlib.sha1(json.dumps(questions, ensure_ascii=False).encode("utf-8")).hexdigest()[:8]
    return f"{fingerprint(records)}.o{outside}.p{PASSAGE_SCHEME}"


def outside_questions(
    codes: Collection[str] = (), path: Path = OUTSIDE_FILE, elsewhere: Path = ELSEWHERE_FILE
) -> dict[str, list[str]]:
    """{lang: questions} no procedure of a catalogue with these codes answers (vi, vi_plain, en, bn)."""
    out = _questions_by_lang(_read_yaml(path), f"{path}")
    groups = _read_yaml(elsewhere) if elsewhere.is_file() else []
    if not isinstance(groups, list):
        raise IndexUnusable(f"{elsewhere}: expected a list of topics")
    for number, group in enumerate(groups, start=1):
        where = f"{elsewhere}: topic {number}"
        if not isinstance(group, dict) or not isinstance(group.get("codes", []), list):
            raise IndexUnusable(f"{where}: expected topic, codes and questions under {', '.join(_OUTSIDE_LANGS)}")
        if set(group.get("codes") or []) & set(codes):
            continue  # the catalogue answers this topic
        questions = _questions_by_lang({k: v for k, v in group.items() if k not in ("topic", "codes")}, where)
        for lang in _OUTSIDE_LANGS:
            out[lang] += questions[lang]
    return out


def _read_yaml(path: Path) -> object:
    if not path.is_file():
        raise IndexUnusable(f"{path} is missing: it ships with the project, restore it from git")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise IndexUnusable(f"{path} is not valid YAML ({exc})") from None


def _questions_by_lang(data: object, where: str) -> dict[str, list[str]]:
    if not isinstance(data, dict) or set(data) - set(_OUTSIDE_LANGS):
        raise IndexUnusable(f"{where}: expected lists under {', '.join(_OUTSIDE_LANGS)}")
    out = {}
    for lang in _OUTSIDE_LANGS:
        items = data.get(lang) or []
        if not isinstance(items, list) or not all(isinstance(q, str) and q.strip() for q in items):
            raise IndexUnusable(f"{where}: field {lang} must be a list of non-empty strings")
        out[lang] = [" ".join(q.split()) for q in items]
    return out


def make_index(vectors: np.ndarray):  # -> faiss.Index
    """Exact inner product (= cosine on normalised vectors) for small catalogues, HNSW for large ones."""
    import faiss

    dim = vectors.shape[1]
    index: faiss.Index
    if len(vectors) <= HNSW_ABOVE:
        index = faiss.IndexFlatIP(dim)
    else:
        hnsw = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index = hnsw
    index.add(vectors)
    return index


def tune_for_search(index) -> None:  # type: ignore[no-untyped-def]
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = HNSW_EF_SEARCH


class IndexUnusable(RuntimeError):
    """The index is missing, corrupt or stale; the message says how to rebuild."""


@dataclass(frozen=True)
class Passage:
    code: str  # OUTSIDE for an out-of-scope question
    kind: str  # title | names | summary | documents | question | outside, "_plain" when folded
    lang: str
    text: str

    @property
    def is_question(self) -> bool:
        """Questions are encoded as e5 queries (question to question), the rest as passages."""
        return self.kind.startswith(("question", "outside"))

    @property
    def key(self) -> str:
        prompt = "q" if self.is_question else "p"
        return hashlib.sha1(f"{prompt}:{self.text}".encode()).hexdigest()[:16]


def passages_of(record: Procedure) -> list[Passage]:
    """Several short passages per procedure; search pools them back to the procedure."""
    if record.origin == "import":
        # Imported records are Vietnamese only, and their summary already holds title, field and
        # agency. Beside it, the title alone: when added, portal-FAQ recall@1 over the full import
        # went 0.59 -> 0.61; a document-list passage as well gave 0.635 but encoded twice as much.
        return [
            Passage(record.code, "summary", "vi", record.summary.vi),
            Passage(record.code, "title", "vi", record.title.vi),
        ]
    out = []
    for lang in LANGS:
        title = getattr(record.title, lang)
        if title:
            out.append(Passage(record.code, "title", lang, title))
        names = getattr(record.everyday_names, lang)
        if names:
            out.append(Passage(record.code, "names", lang, "; ".join(names)))
        summary = getattr(record.summary, lang)
        if summary:
            out.append(Passage(record.code, "summary", lang, f"{title or record.title.vi}. {summary}"))
    # Vietnamese typed without diacritics reads as another language to the model: give it the
    # same form to match ("dang ky khai sinh").
    out.append(Passage(record.code, "title_plain", "vi", fold(record.title.vi)))
    if record.everyday_names.vi:
        out.append(Passage(record.code, "names_plain", "vi", fold("; ".join(record.everyday_names.vi))))
    out.append(Passage(record.code, "summary_plain", "vi", fold(f"{record.title.vi}. {record.summary.vi}")))
    docs = [d.name.vi for d in record.documents]
    if docs:
        out.append(Passage(record.code, "documents", "vi", f"{record.title.vi}: {'; '.join(docs)}"))
    # Stored questions, and the everyday names people type alone at a kiosk ("làm căn cước"):
    # both are what citizens write, so both are encoded as e5 queries.
    questions, names = record.questions, record.everyday_names
    for lang in LANGS:
        asked = dict.fromkeys([*getattr(questions, lang), *getattr(names, lang)])
        out += [Passage(record.code, "question", lang, q) for q in asked]
    plain = dict.fromkeys([*questions.vi_plain, *(fold(q) for q in [*questions.vi, *names.vi])])
    out += [Passage(record.code, "question_plain", "vi", q) for q in plain]
    return out


def outside_passages(questions: dict[str, list[str]]) -> list[Passage]:
    out = [Passage(OUTSIDE, "outside", lang, q) for lang in LANGS for q in questions.get(lang, [])]
    plain = dict.fromkeys([*questions.get("vi_plain", []), *(fold(q) for q in questions.get("vi", []))])
    return out + [Passage(OUTSIDE, "outside_plain", "vi", q) for q in plain]


@dataclass
class LoadedIndex:
    index: object  # faiss.Index
    passages: list[Passage]
    meta: dict


def saved_vectors(index_dir: Path, model_id: str) -> dict[str, np.ndarray]:
    """{passage key: vector} of the index in index_dir, if it was built with this model; {} if none."""
    try:
        meta = json.loads((index_dir / META_FILE).read_text())
        vectors = np.load(index_dir / VECTORS_FILE)
    except (ValueError, OSError):
        return {}
    entries = meta.get("passages") if isinstance(meta, dict) and meta.get("model") == model_id else None
    if not isinstance(entries, list) or len(entries) != len(vectors):
        return {}
    return {
        e["key"]: vectors[row] for row, e in enumerate(entries) if isinstance(e, dict) and isinstance(e.get("key"), str)
    }


def vector_store(cache_dir: Path, model_id: str) -> Path:
    """The file of vectors shared by every catalogue built with this model on this machine."""
    return cache_dir / "vectors" / f"{hashlib.sha1(model_id.encode()).hexdigest()[:12]}.npz"


# Vectors kept in the shared store after a build: this build's, then earlier ones up to this many
# (about 150 MB of float32).
STORE_LIMIT = 100_000


def stored_vectors(store: Path, model_id: str) -> dict[str, np.ndarray]:
    """{passage key: vector} in a shared store file; {} if it is missing, unreadable or another model's."""
    try:
        with np.load(store) as data:
            if str(data["model"]) != model_id or len(data["keys"]) != len(data["vectors"]):
                return {}
            return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    except (ValueError, OSError, KeyError):
        return {}


def save_store(store: Path, model_id: str, current: dict[str, np.ndarray], earlier: dict[str, np.ndarray]) -> None:
    """Keep this build's vectors, then earlier ones up to STORE_LIMIT, in one file replaced at once."""
    kept = dict(current)
    for key, vector in earlier.items():
        if len(kept) >= STORE_LIMIT:
            break
        kept.setdefault(key, vector)
    store.parent.mkdir(parents=True, exist_ok=True)
    partial = store.with_name(store.name + ".partial.npz")
    np.savez(
        partial,
        model=np.array(model_id),
        keys=np.array(list(kept)),
        vectors=np.stack(list(kept.values())).astype(np.float32),
    )
    partial.replace(store)  # keys and vectors always come from the same build


def build(
    records: list[Procedure],
    encoder: Encoder,
    out_dir: Path,
    catalog_version: str,
    progress: bool = False,
    store: Path | None = None,
) -> tuple[bool, int]:
    """(rebuilt?, passages encoded now). Reuses vectors of passages whose text and model are unchanged.

    They come from the index being replaced and, when given, from `store`: a file of vectors
    shared by every catalogue built on this machine, so that a catalogue in another data folder
    (a province's full import, say) encodes only the passages no earlier build has seen.
    """
    import faiss

    if is_current(out_dir, encoder.model_id, catalog_version):
        return False, 0
    passages = [p for record in records for p in passages_of(record)] + outside_passages(
        outside_questions({r.code for r in records})
    )
    stored = stored_vectors(store, encoder.model_id) if store else {}
    by_key = stored | saved_vectors(out_dir, encoder.model_id)
    todo = list({p.key: p for p in passages if p.key not in by_key}.values())
    for questions, encode in ((False, encoder.encode_passages), (True, encoder.encode_questions)):
        batch = [p for p in todo if p.is_question is questions]
        if batch:
            fresh = encode([p.text for p in batch], progress=progress)
            by_key.update({p.key: fresh[i] for i, p in enumerate(batch)})
    vectors = np.stack([by_key[p.key] for p in passages]).astype(np.float32)
    if store and any(p.key not in stored for p in passages):
        save_store(store, encoder.model_id, {p.key: by_key[p.key] for p in passages}, stored)

    index = make_index(vectors)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "model": encoder.model_id,
        "catalog": catalog_version,
        "dim": int(vectors.shape[1]),
        "kind": "hnsw" if hasattr(index, "hnsw") else "flat",
        "procedures": len(records),
        "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "passages": [{"code": p.code, "kind": p.kind, "lang": p.lang, "key": p.key} for p in passages],
    }
    # Write beside, then rename: a crash never leaves a half-written index that looks valid.
    faiss.write_index(index, str(out_dir / (INDEX_FILE + ".tmp")))
    np.save(out_dir / "vectors.tmp.npy", vectors)
    (out_dir / (META_FILE + ".tmp")).write_text(json.dumps(meta, ensure_ascii=False))
    (out_dir / (INDEX_FILE + ".tmp")).replace(out_dir / INDEX_FILE)
    (out_dir / "vectors.tmp.npy").replace(out_dir / VECTORS_FILE)
    (out_dir / (META_FILE + ".tmp")).replace(out_dir / META_FILE)
    return True, len(todo)


def is_current(index_dir: Path, model_id: str, catalog_version: str) -> bool:
    """True when the index there was built from this catalogue version with this model, files complete."""
    try:
        meta = read_meta(index_dir)
    except IndexUnusable:
        return False
    complete = (index_dir / INDEX_FILE).is_file() and (index_dir / VECTORS_FILE).is_file()
    return complete and meta["model"] == model_id and meta["catalog"] == catalog_version


def read_meta(index_dir: Path) -> dict:
    meta_path = index_dir / META_FILE
    if not meta_path.is_file():
        raise IndexUnusable(f"no knowledge index in {index_dir}: {REBUILD_HINT}")
    try:
        meta = json.loads(meta_path.read_text())
    except ValueError:
        raise IndexUnusable(f"{meta_path} is corrupt: {REBUILD_HINT}") from None
    if not isinstance(meta, dict) or not {"model", "catalog", "passages"} <= meta.keys():
        raise IndexUnusable(f"{meta_path} is incomplete: {REBUILD_HINT}")
    return meta


def load(index_dir: Path, model_id: str, catalog_version: str, records: list[Procedure]) -> LoadedIndex:
    """Open the index, refusing one built with another model or from another catalogue."""
    import faiss

    meta = read_meta(index_dir)
    if meta["model"] != model_id:
        raise IndexUnusable(
            f"the index in {index_dir} was built with model {meta['model']!r}, "
            f"but the configured model is {model_id!r}: {REBUILD_HINT}"
        )
    if meta["catalog"] != catalog_version:
        raise IndexUnusable(f"the catalogue changed since the index in {index_dir} was built: {REBUILD_HINT}")
    try:
        index = faiss.read_index(str(index_dir / INDEX_FILE))
    except RuntimeError:
        raise IndexUnusable(f"{index_dir / INDEX_FILE} is missing or corrupt: {REBUILD_HINT}") from None
    tune_for_search(index)
    by_code = {r.code: r for r in records}
    passages = []
    try:
        for entry in meta["passages"]:
            if entry["code"] != OUTSIDE and entry["code"] not in by_code:
                raise IndexUnusable(f"the index names unknown procedure {entry['code']}: {REBUILD_HINT}")
            passages.append(Passage(entry["code"], entry["kind"], entry["lang"], ""))
    except (KeyError, TypeError):  # valid JSON, but not the list of passages `build` writes
        raise IndexUnusable(f"{index_dir / META_FILE} is corrupt: {REBUILD_HINT}") from None
    if index.ntotal != len(passages):
        raise IndexUnusable(
            f"the index in {index_dir} holds {index.ntotal} vectors for {len(passages)} passages: {REBUILD_HINT}"
        )
    return LoadedIndex(index=index, passages=passages, meta=meta)
