"""The action server: rasa-sdk's own app, plus a knowledge health route and a warm-up at start.

Run with `python -m actions.server --port 5055`. The embedding model is loaded in a background
thread once the server is listening, so health checks answer at once and the first citizen
does not wait for the model.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from typing import Any

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.request import Request

from actions.privacy import install_log_masking
from actions.procedures import SHARED_RETRIEVER
from knowledge.retriever import KnowledgeUnavailable, LazyRetriever
from knowledge.text import detect_language

log = logging.getLogger("actions.server")
MAX_QUERY_CHARS = 1000
MAX_K = 20


def build_app() -> Sanic:
    executor = ActionExecutor()
    executor.register_package("actions")
    app = create_app(executor, cors_origins=[])

    @app.get("/health/knowledge")
    async def knowledge_health(_: Request) -> response.HTTPResponse:
        if SHARED_RETRIEVER.ready:
            retriever = SHARED_RETRIEVER.get()
            body = {"status": "ok", "procedures": len(retriever.records), "model": retriever.model_id}
            return response.json(body)
        if SHARED_RETRIEVER.error:
            return response.json({"status": "error", "error": SHARED_RETRIEVER.error}, status=503)
        return response.json({"status": "loading"}, status=503)

    @app.get("/search")
    async def search(request: Request) -> response.HTTPResponse:
        """The staff console's view of retrieval: top k codes, titles, scores and the verdict."""
        body, status = await asyncio.to_thread(
            search_body, SHARED_RETRIEVER, request.args.get("q", ""), request.args.get("k", "5")
        )
        return response.json(body, status=status, ensure_ascii=False)

    @app.after_server_start
    async def warm_up(app: Sanic) -> None:
        app.add_task(_warm())

    return app


def search_body(knowledge: LazyRetriever, query: str, k: str) -> tuple[dict[str, Any], int]:
    """JSON body and status of `GET /search?q=...&k=5`."""
    query = " ".join(query.split())
    if not query or len(query) > MAX_QUERY_CHARS:
        return {"error": f"q must be 1-{MAX_QUERY_CHARS} characters"}, 400
    if not k.isdigit() or not 1 <= int(k) <= MAX_K:
        return {"error": f"k must be a whole number from 1 to {MAX_K}"}, 400
    try:
        retriever = knowledge.get()
    except KnowledgeUnavailable as exc:
        return {"error": str(exc)}, 503
    result = retriever.search(query, k=int(k))
    hits = [{"code": h.code, "title": h.procedure.title.vi, "score": round(h.score, 4)} for h in result.hits]
    return {"query": query, "language": detect_language(query), "verdict": result.verdict, "hits": hits}, 200


async def _warm() -> None:
    try:
        retriever = await asyncio.to_thread(SHARED_RETRIEVER.get)
        await asyncio.to_thread(retriever.encoder.encode_queries, ["warm up"])  # opens the query model
        await asyncio.to_thread(detect_language, "warm up the language detector")  # loads its profiles
        log.info("knowledge ready")
    except KnowledgeUnavailable as exc:
        log.error("knowledge unavailable: %s", exc)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m actions.server")
    parser.add_argument("--host", default=os.environ.get("ASSIST_ACTIONS_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("ASSIST_ACTIONS_PORT", "5055")))
    args = parser.parse_args()
    install_log_masking()  # no CCCD or phone number in full in any log line
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    build_app().run(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
