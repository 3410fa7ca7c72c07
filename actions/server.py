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

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response
from sanic.request import Request

from actions.procedures import SHARED_RETRIEVER
from knowledge.retriever import KnowledgeUnavailable
from knowledge.text import detect_language

log = logging.getLogger("actions.server")


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

    @app.after_server_start
    async def warm_up(app: Sanic) -> None:
        app.add_task(_warm())

    return app


async def _warm() -> None:
    try:
        await asyncio.to_thread(SHARED_RETRIEVER.get)
        await asyncio.to_thread(detect_language, "warm up the language detector")  # loads its profiles
        log.info("knowledge ready")
    except KnowledgeUnavailable as exc:
        log.error("knowledge unavailable: %s", exc)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m actions.server")
    parser.add_argument("--host", default=os.environ.get("ASSIST_ACTIONS_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("ASSIST_ACTIONS_PORT", "5055")))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    build_app().run(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
