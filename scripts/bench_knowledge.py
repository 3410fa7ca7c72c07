"""Knowledge benchmark: retrieval quality (BM25 / dense / hybrid) and speed; writes results/knowledge.{json,md}.

Two corpora: our catalogue alone, and our catalogue plus the full import of the portal sample
(../shared/data/dichvucong, or ASSIST_PORTAL_FILE). The full index is rebuilt from scratch each run
so its build time is measured.
"""

from __future__ import annotations

import json
import os
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
from knowledge.retriever import DENSE, HYBRID, LEXICAL, open_retriever
from knowledge.settings import PROJECT_ROOT, KnowledgeSettings

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
    started = time.perf_counter()
    index_mod.build(records, encoder, full.index_dir, index_mod.index_version(records), progress=True)
    build_s = time.perf_counter() - started
    meta = json.loads((full.index_dir / index_mod.META_FILE).read_text())
    info = {
        "procedures": len(records),
        "passages": len(meta["passages"]),
        "index_kind": meta.get("kind"),
        "build_s": round(build_s, 1),
        "import": {k: v for k, v in report.as_dict().items() if k != "errors"} | {"errors": len(report.errors)},
    }
    return full, info


def faiss_scale(
    seeds: np.ndarray, procedures: int = 10_000, passages_each: int = 3, queries: int = 300
) -> dict[str, Any]:
    """The FAISS part alone at 10,000 procedures: synthetic vectors spread around real passage vectors
    (cosine about 0.9 to their seed, as neighbouring procedures are), searched as the retriever does,
    and compared with exact search."""
    import faiss

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
        _, got = index.search(one, 200)  # as deep as the retriever asks (50 procedures x 4)
        timings.append((time.perf_counter() - t0) * 1000)
        _, want = exact.search(one, 10)
        recall.append(len(set(got[0][:10]) & set(want[0])) / 10)
    return {
        "procedures": procedures,
        "vectors": len(vectors),
        "index": type(index).__name__,
        "build_s": round(build_s, 1),
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
    results["ours"] = quality(settings, encoder)
    results["ours_heldout"] = quality(settings, encoder, HELDOUT)
    if PORTAL.is_file():
        full, info = full_corpus(settings, encoder)
        results["full_build"] = info
        results["ours_plus_import"] = quality(full, encoder)
        results["portal_faq_full"] = quality(full, encoder, PORTAL_FAQ)
    seeds = np.load(settings.index_dir / index_mod.VECTORS_FILE)
    results["faiss_10k"] = faiss_scale(seeds)
    OUT.mkdir(exist_ok=True)
    (OUT / "knowledge.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    lines = [f"# Knowledge benchmark ({results['when']}, {results['cores']} cores)", ""]
    lines += _table("Our catalogue, development set (tuned on)", results["ours"])
    lines += _table("Our catalogue, held-out set", results["ours_heldout"])
    if "ours_plus_import" in results:
        lines += _table("Our catalogue + full portal import", results["ours_plus_import"])
        lines += _table("Portal-FAQ-style questions over our catalogue + full import", results["portal_faq_full"])
        b = results["full_build"]
        lines += [
            f"Full import index: {b['procedures']} procedures, {b['passages']} passages, {b['index_kind']}, built in {b['build_s']} s",
            "",
        ]
    f = results["faiss_10k"]
    lines += [
        f"FAISS alone at {f['procedures']} procedures ({f['vectors']} vectors, {f['index']}): "
        f"p50 {f['search_ms']['p50']} ms, p95 {f['search_ms']['p95']} ms, recall@10 vs exact {f['recall@10_vs_exact']}",
    ]
    (OUT / "knowledge.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
