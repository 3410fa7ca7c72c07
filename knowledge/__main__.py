"""Command line of the knowledge room: `python -m knowledge [--data-dir DIR] build | search TEXT | model`."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

from knowledge import catalog as catalog_mod
from knowledge import index as index_mod
from knowledge.embedding import SentenceTransformerEncoder, ensure_default_model
from knowledge.retriever import KnowledgeUnavailable, open_retriever
from knowledge.settings import DEFAULT_MODEL, KnowledgeSettings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m knowledge", description=__doc__)
    parser.add_argument("--data-dir", help="catalogue folder to work on (default: ASSIST_DATA_DIR or knowledge/data)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("model", help="prepare the configured embedding model (converts the bundled one once)")
    build = sub.add_parser("build", help="build the search index if the catalogue or model changed")
    build.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    search = sub.add_parser("search", help="find the procedures that match a question")
    search.add_argument("text")
    search.add_argument("-k", type=int, default=5, help="how many procedures (default 5)")
    search.add_argument("--json", action="store_true", help="print JSON")
    return parser


def cmd_model(settings: KnowledgeSettings) -> int:
    if settings.model == DEFAULT_MODEL:
        print(ensure_default_model(settings))
    else:
        print(f"{settings.model} (loaded by sentence-transformers on first use)")
    return 0


def cmd_build(settings: KnowledgeSettings, force: bool) -> int:
    records = catalog_mod.load_catalog(settings.catalog_dir, settings.imported_dir)
    version = catalog_mod.fingerprint(records)
    if not force:
        try:
            meta = index_mod.read_meta(settings.index_dir)
        except index_mod.IndexUnusable:
            meta = {}
        from knowledge.embedding import resolve_model

        if (
            meta.get("catalog") == version
            and meta.get("model") == resolve_model(settings)[1]
            and (settings.index_dir / index_mod.INDEX_FILE).is_file()
        ):
            print(f"index up to date: {len(records)} procedures, model {meta['model']}")
            return 0
    started = time.perf_counter()
    encoder = SentenceTransformerEncoder(settings)
    if force:
        (settings.index_dir / index_mod.META_FILE).unlink(missing_ok=True)
    _, encoded = index_mod.build(records, encoder, settings.index_dir, version, progress=sys.stderr.isatty())
    took = time.perf_counter() - started
    print(f"index built: {len(records)} procedures, {encoded} passages encoded, {took:.1f} s, model {encoder.model_id}")
    return 0


def cmd_search(settings: KnowledgeSettings, text: str, k: int, as_json: bool) -> int:
    result = open_retriever(settings).search(text, k=k)
    if as_json:
        out = {
            "verdict": result.verdict,
            "hits": [{"code": h.code, "score": round(h.score, 4), "title": h.procedure.title.vi} for h in result.hits],
        }
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    print(f"verdict: {result.verdict}")
    for rank, hit in enumerate(result.hits, start=1):
        print(f"{rank:2d}. {hit.score:.3f}  {hit.code}  {hit.procedure.title.vi}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    env = dict(os.environ)
    if args.data_dir:
        env["ASSIST_DATA_DIR"] = args.data_dir
    try:
        settings = KnowledgeSettings.from_env(env)
        if args.command == "model":
            return cmd_model(settings)
        if args.command == "build":
            return cmd_build(settings, args.force)
        return cmd_search(settings, args.text, args.k, args.json)
    except (catalog_mod.CatalogError, KnowledgeUnavailable, index_mod.IndexUnusable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
