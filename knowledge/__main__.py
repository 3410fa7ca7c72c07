"""Command line of the knowledge room.

python -m knowledge [--data-dir DIR] import FILE | build | search TEXT [-k N] [--json] | eval FILE.jsonl [--json] | model
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from knowledge import catalog as catalog_mod
from knowledge import index as index_mod
from knowledge.embedding import SentenceTransformerEncoder, ensure_default_model, resolve_model
from knowledge.errors import InputError
from knowledge.retriever import HYBRID, MODES, KnowledgeUnavailable, open_retriever
from knowledge.settings import DEFAULT_MODEL, KnowledgeSettings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m knowledge", description=__doc__)
    parser.add_argument("--data-dir", help="catalogue folder to work on (default: ASSIST_DATA_DIR or knowledge/data)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("model", help="prepare the configured embedding model (converts the bundled one once)")
    imp = sub.add_parser("import", help="import procedures in the national portal's JSONL format")
    imp.add_argument("file")
    imp.add_argument("--online-levels", help="CSV of online levels (code, online_level) to apply")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    ev = sub.add_parser("eval", help="recall@k and MRR of a question set (rows: question, codes, lang)")
    ev.add_argument("file")
    ev.add_argument("--json", action="store_true", help="print JSON")
    ev.add_argument("--mode", choices=MODES, default=HYBRID, help="retrieval to evaluate (default hybrid)")
    build = sub.add_parser("build", help="build the search index if the catalogue or model changed")
    build.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    search = sub.add_parser("search", help="find the procedures that match a question")
    search.add_argument("text")
    search.add_argument("-k", type=int, default=5, help="how many procedures (default 5)")
    search.add_argument("--json", action="store_true", help="print JSON")
    search.add_argument("--mode", choices=MODES, default=HYBRID, help="retrieval to use (default hybrid)")
    return parser


def cmd_model(settings: KnowledgeSettings) -> int:
    if settings.model == DEFAULT_MODEL:
        print(ensure_default_model(settings))
    else:
        print(f"{settings.model} (loaded by sentence-transformers on first use)")
    return 0


def cmd_build(settings: KnowledgeSettings, force: bool) -> int:
    records = catalog_mod.load_catalog(settings.catalog_dir, settings.imported_dir)
    version = index_mod.index_version(records)
    # Checked before loading the encoder, so an up-to-date index costs no model load.
    model_id = resolve_model(settings)[1]
    if not force and index_mod.is_current(settings.index_dir, model_id, version):
        print(f"index up to date: {len(records)} procedures, model {model_id}")
        return 0
    started = time.perf_counter()
    encoder = SentenceTransformerEncoder(settings)
    if force:  # encode everything again: neither the old index nor the shared store is read
        (settings.index_dir / index_mod.META_FILE).unlink(missing_ok=True)
    store = None if force else index_mod.vector_store(settings.cache_dir, encoder.model_id)
    _, encoded = index_mod.build(records, encoder, settings.index_dir, version, progress=True, store=store)
    took = time.perf_counter() - started
    print(f"index built: {len(records)} procedures, {encoded} passages encoded, {took:.1f} s, model {encoder.model_id}")
    return 0


def cmd_search(settings: KnowledgeSettings, text: str, k: int, as_json: bool, mode: str) -> int:
    result = open_retriever(settings).search(text, k=k, mode=mode)
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


def cmd_import(settings: KnowledgeSettings, file: str, online_levels: str | None, as_json: bool) -> int:
    from knowledge.importer import import_file

    report = import_file(Path(file), settings.imported_dir, Path(online_levels) if online_levels else None)
    data = report.as_dict()
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print(f"read {data['read']} procedures, imported {data['imported']}, errors {len(data['errors'])}")
        for error in data["errors"]:
            print(f"  error: {error}")
        print(f"{'field':16} {'parsed':>7} {'missing':>8} {'failed':>7} {'rate':>7}")
        for name, row in data["fields"].items():
            print(f"{name:16} {row['parsed']:7d} {row['missing']:8d} {row['failed']:7d} {row['rate']:7.1%}")
            for example in row["examples"]:
                print(f"    could not parse {example}")
        print(f"written to {settings.imported_dir}; run `python -m knowledge build` to index them")
    return 0 if data["imported"] == data["read"] else 1


def cmd_eval(settings: KnowledgeSettings, file: str, as_json: bool, mode: str) -> int:
    from knowledge.evaluate import evaluate, format_table, read_questions

    questions = read_questions(Path(file))
    result = evaluate(open_retriever(settings), questions, mode=mode)
    print(json.dumps(result, ensure_ascii=False, indent=2) if as_json else format_table(result))
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
        if args.command == "import":
            return cmd_import(settings, args.file, args.online_levels, args.json)
        if args.command == "eval":
            return cmd_eval(settings, args.file, args.json, args.mode)
        return cmd_search(settings, args.text, args.k, args.json, args.mode)
    except (catalog_mod.CatalogError, KnowledgeUnavailable, index_mod.IndexUnusable, InputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
