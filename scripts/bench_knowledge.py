"""Knowledge benchmark: retrieval quality (BM25 / dense / hybrid) and speed; writes results/knowledge.{json,md}.

Two corpora: our catalogue alone, and our catalogue plus the full import of the portal sample
(../shared/data/dichvucong, or ASSIST_PORTAL_FILE). The full index is built twice so both build
times are measured: from nothing (every passage encoded), and as on a machine that has built our
catalogue before (vectors it already holds come from the shared store; only the import is encoded).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from knowledge import catalog as catalog_mod
from knowledge import index as index_mod
from knowledge.embedding import SentenceTransformerEncoder
from knowledge.evaluate import evaluate, read_questions
from knowledge.importer import import_file
from knowledge.retriever import DENSE, HYBRID, LEXICAL, Retriever, lexical_text, open_retriever
from knowledge.settings import PROJECT_ROOT, KnowledgeSettings
from knowledge.text import words

DEVSET = PROJECT_ROOT / "knowledge" / "eval" / "devset.jsonl"  # thresholds and weights are tuned on this one
HELDOUT = PROJECT_ROOT / "knowledge" / "eval" / "heldout.jsonl"  # written separately, never tuned on
PORTAL_FAQ = PROJECT_ROOT / "knowledge" / "eval" / "portal_faq.jsonl"  # portal-Q&A-style questions, imported codes
PORTAL = Path(os.environ.get("ASSIST_PORTAL_FILE") or PROJECT_ROOT.parent / "shared/data/dichvucong/procedures.jsonl")
OUT = PROJECT_ROOT / "results"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def quality(settings: KnowledgeSettings, encoder: SentenceTransformerEncoder, path: Path = DEVSET) -> dict[str, Any]:
    retriever = open_retriever(settings, encoder)
    questions = read_questions(path)
    out: dict[str, Any] = {"procedures": len(retriever.records)}
    for mode in (LEXICAL, DENSE, HYBRID):
        result = evaluate(retriever, questions, mode=mode)
        out[mode] = result["groups"]
        if mode == HYBRID:
            out["hybrid_misses"] = result["misses"]
    timings = []
    for q in questions:
        started = time.perf_counter()
        retriever.search(q.question, k=5)
        timings.append((time.perf_counter() - started) * 1000)
    out["search_ms"] = {"p50": _pct(timings, 0.5), "p95": _pct(timings, 0.95), "n": len(timings)}
    return out


def full_corpus(settings: KnowledgeSettings, encoder: SentenceTransformerEncoder) -> tuple[KnowledgeSettings, dict]:
    data = settings.cache_dir / "bench-full"
    if data.exists():
        shutil.rmtree(data / "index", ignore_errors=True)
    data.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(data / "catalog", ignore_errors=True)
    shutil.copytree(settings.catalog_dir, data / "catalog")
    levels = PORTAL.parent / "langson_online_levels.csv"
    report = import_file(PORTAL, data / "imported", levels if levels.is_file() else None)
    full = KnowledgeSettings(data_dir=data, cache_dir=settings.cache_dir, model=settings.model)
    records = catalog_mod.load_catalog(full.catalog_dir, full.imported_dir)
    version = index_mod.index_version(records)
    # As on a machine that has built only our catalogue: a store holding our index's vectors, not
    # whatever earlier bench runs left in the real one.
    store = data / "store.npz"
    ours = index_mod.saved_vectors(settings.index_dir, encoder.model_id)
    index_mod.save_store(store, encoder.model_id, ours, {})
    seconds = {}
    for name, shared in (("build_s_from_nothing", None), ("build_s", store)):
        shutil.rmtree(full.index_dir, ignore_errors=True)
        started = time.perf_counter()
        _, encoded = index_mod.build(records, encoder, full.index_dir, version, progress=True, store=shared)
        seconds[name] = round(time.perf_counter() - started, 1)
        seconds[name.replace("build_s", "encoded")] = encoded
    meta = json.loads((full.index_dir / index_mod.META_FILE).read_text())
    info = {
        "procedures": len(records),
        "passages": len(meta["passages"]),
        "index_kind": meta.get("kind"),
        **seconds,
        "import": {k: v for k, v in report.as_dict().items() if k != "errors"} | {"errors": len(report.errors)},
    }
    return full, info


def plain_bm25(settings: KnowledgeSettings, path: Path) -> dict[str, Any]:
    """The baseline the portal-FAQ target is set against: BM25 over each procedure's Vietnamese text
    as plain lower-cased words (diacritics kept, no folding, no syllable pairs), on the same corpus."""
    import bm25s

    records = catalog_mod.load_catalog(settings.catalog_dir, settings.imported_dir)
    codes = [r.code for r in records]
    bm25 = bm25s.BM25()
    bm25.index([words(lexical_text(r, "vi")) for r in records], show_progress=False)
    hits: dict[int, list[bool]] = {1: [], 5: []}
    for q in read_questions(path):
        if not q.codes:
            continue
        scores = bm25.get_scores(words(q.question))
        ranked = [codes[i] for i in np.argsort(-scores)[:5] if scores[i] > 0]
        for k in hits:
            hits[k].append(any(c in q.codes for c in ranked[:k]))
    return {f"recall@{k}": round(sum(v) / max(1, len(v)), 3) for k, v in hits.items()} | {"questions": len(hits[1])}


# Spelling slips Bengali speakers make when typing (long/short vowels, sibilants, dental/retroflex
# n, chandrabindu dropped): each slip goes, with probability one half, to one random place in a question.
BENGALI_SLIPS = (("ী", "ি"), ("ি", "ী"), ("ূ", "ু"), ("ু", "ূ"), ("শ", "স"), ("ষ", "শ"), ("ণ", "ন"), ("ঁ", ""))


def bengali_slips(path: Path, out: Path, seed: int = 7) -> Path:
    """The Bengali questions of a set, retyped with the usual spelling slips (a fixed, seeded sample)."""
    rng = random.Random(seed)
    rows = []
    for q in read_questions(path):
        if q.lang != "bn":
            continue
        text = q.question
        for wrote, typed in BENGALI_SLIPS:
            places = [i for i in range(len(text)) if text.startswith(wrote, i)]
            if places and rng.random() < 0.5:
                i = rng.choice(places)
                text = text[:i] + typed + text[i + len(wrote) :]
        rows.append(json.dumps({"question": text, "codes": list(q.codes), "lang": "bn_slips"}, ensure_ascii=False))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return out


def faiss_scale(
    seeds: np.ndarray, procedures: int = 10_000, passages_each: int = 3, queries: int = 300
) -> dict[str, Any]:
    """The FAISS part alone at 10,000 procedures: synthetic vectors spread around real passage vectors
    (cosine about 0.9 to their seed, as neighbouring procedures are), searched as the retriever does,
    and compared with exact search."""
    import faiss

    rows = 50 * Retriever.ROWS_PER_PROCEDURE  # as deep as the retriever reads for its 50 candidates
    rng = np.random.default_rng(7)

    def around(points: np.ndarray, spread: float) -> np.ndarray:
        noisy = points + spread * rng.standard_normal(points.shape).astype("float32") / np.sqrt(points.shape[1])
        return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype("float32")

    vectors = around(seeds[rng.integers(0, len(seeds), procedures * passages_each)], 0.5)
    query = around(vectors[rng.integers(0, len(vectors), queries)], 0.5)
    started = time.perf_counter()
    index = index_mod.make_index(vectors)
    build_s = time.perf_counter() - started
    index_mod.tune_for_search(index)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    timings, recall = [], []
    for i in range(queries):
        one = query[i : i + 1]
        t0 = time.perf_counter()
        _, got = index.search(one, rows)
        timings.append((time.perf_counter() - t0) * 1000)
        _, want = exact.search(one, 10)
        recall.append(len(set(got[0][:10]) & set(want[0])) / 10)
    return {
        "procedures": procedures,
        "vectors": len(vectors),
        "index": type(index).__name__,
        "build_s": round(build_s, 1),
        "rows": rows,
        "search_ms": {"p50": _pct(timings, 0.5), "p95": _pct(timings, 0.95)},
        "recall@10_vs_exact": round(statistics.mean(recall), 4),
    }


def _table(title: str, block: dict[str, Any]) -> list[str]:
    langs = [g for g in block[HYBRID] if g != "overall"] + ["overall"]
    lines = [f"### {title} ({block['procedures']} procedures)", "", "| lang | n | " + " | ".join(
        f"{m} R@1 | {m} R@5" for m in (LEXICAL, DENSE, HYBRID)) + " | out-of-scope rejected |", "|---" * 9 + "|"]  # fmt: skip
    for lang in langs:
        row = [lang, str(block[HYBRID][lang].get("questions", 0))]
        for mode in (LEXICAL, DENSE, HYBRID):
            g = block[mode].get(lang, {})
            row += [f"{g.get('recall@1', 0):.3f}", f"{g.get('recall@5', 0):.3f}"]
        row.append(f"{block[HYBRID][lang]['oos_rejection']:.3f}" if "oos_rejection" in block[HYBRID][lang] else "-")
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        f"hybrid search p50 {block['search_ms']['p50']} ms, p95 {block['search_ms']['p95']} ms (with query encoding)",
        "",
    ]
    return lines


def main() -> int:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    settings = KnowledgeSettings.from_env()
    encoder = SentenceTransformerEncoder(settings)
    results: dict[str, Any] = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "cores": os.cpu_count()}
    # First, before any batch encoding loads PyTorch's thread pools beside FAISS's.
    results["faiss_10k"] = faiss_scale(np.load(settings.index_dir / index_mod.VECTORS_FILE))
    results["ours"] = quality(settings, encoder)
    results["ours_heldout"] = quality(settings, encoder, HELDOUT)
    slips = settings.cache_dir / "bench"
    results["ours_bn_slips"] = {
        name: quality(settings, encoder, bengali_slips(path, slips / f"{name}_bn_slips.jsonl"))
        for name, path in (("dev", DEVSET), ("heldout", HELDOUT))
    }
    if PORTAL.is_file():
        full, info = full_corpus(settings, encoder)
        results["full_build"] = info
        results["ours_plus_import"] = quality(full, encoder)
        results["portal_faq_full"] = quality(full, encoder, PORTAL_FAQ)
        results["portal_faq_plain_bm25"] = plain_bm25(full, PORTAL_FAQ)
    OUT.mkdir(exist_ok=True)
    (OUT / "knowledge.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    lines = [f"# Knowledge benchmark ({results['when']}, {results['cores']} cores)", ""]
    lines += _table("Our catalogue, development set (tuned on)", results["ours"])
    lines += _table("Our catalogue, held-out set", results["ours_heldout"])
    for name, block in results["ours_bn_slips"].items():
        lines += _table(f"Bengali questions of the {name} set retyped with common spelling slips", block)
    if "ours_plus_import" in results:
        lines += _table("Our catalogue + full portal import", results["ours_plus_import"])
        lines += _table("Portal-FAQ-style questions over our catalogue + full import", results["portal_faq_full"])
        plain, faq = results["portal_faq_plain_bm25"], results["portal_faq_full"][HYBRID]["overall"]["recall@1"]
        lines += [
            f"Plain BM25 on the same corpus (lower-cased words, diacritics kept): R@1 {plain['recall@1']}, "
            f"R@5 {plain['recall@5']}; hybrid R@1 is {faq - plain['recall@1']:+.3f} above it",
            "",
        ]
        b = results["full_build"]
        lines += [
            f"Full import index: {b['procedures']} procedures, {b['passages']} passages, {b['index_kind']}. "
            f"Built in {b['build_s']} s ({b['encoded']} passages encoded; our catalogue's vectors from the shared store), "
            f"{b['build_s_from_nothing']} s from nothing ({b['encoded_from_nothing']} encoded)",
            "",
        ]
    f = results["faiss_10k"]
    lines += [
        f"FAISS alone at {f['procedures']} procedures ({f['vectors']} vectors, {f['index']}, {f['rows']} rows per search): "
        f"p50 {f['search_ms']['p50']} ms, p95 {f['search_ms']['p95']} ms, recall@10 vs exact {f['recall@10_vs_exact']}",
    ]
    (OUT / "knowledge.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
