"""N concurrent citizens against a running stack, bounded in time: each plays conversations from
`scenarios.SCENARIOS` (a fresh random sender id each), waits a citizen's think time between turns,
and every turn's round trip through `POST /api/chat` is timed and checked."""

from __future__ import annotations

import asyncio
import random
import secrets
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import httpx2

from scripts.loadgen.scenarios import ANY, SCENARIOS, Scenario

THINK_S = (1.0, 3.0)  # reading the answer and typing the next message: uniform between these
UNKNOWN_REFERENCE = "P3ZK7M2A"  # asked before any draft exists in the run: the bot says it does not know it


@dataclass
class Outcome:
    """What N sessions did in one run."""

    sessions: int
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)  # HTTP status, transport error or "unavailable"
    unexpected: int = 0  # answered, but not with the payload the scenario expects
    conversations: int = 0

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)

        def pct(p: float) -> float | None:
            if not ordered:
                return None
            return round(ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))], 1)

        return {
            "sessions": self.sessions,
            "seconds": round(self.seconds, 1),
            "turns": len(ordered),
            "conversations": self.conversations,
            "throughput_per_s": round(len(ordered) / self.seconds, 2) if self.seconds else 0.0,
            "p50_ms": round(statistics.median(ordered), 1) if ordered else None,
            "p95_ms": pct(95),
            "p99_ms": pct(99),
            "max_ms": round(ordered[-1], 1) if ordered else None,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "unexpected": self.unexpected,
        }


class Run:
    """One concurrency level: `sessions` citizens for `seconds`, then each finishes its current turn."""

    def __init__(self, base_url: str, sessions: int, seconds: float, seed: int = 7) -> None:
        self.base_url = base_url.rstrip("/")
        self.outcome = Outcome(sessions)
        self.seconds = seconds
        self.seed = seed
        self.references: list[str] = []
        self._deadline = 0.0

    async def __call__(self) -> Outcome:
        # gunicorn closes a connection idle for 2 s; dropping ours sooner avoids sending on one it is
        # closing at that very moment (a browser would silently retry; this client would count an error).
        limits = httpx2.Limits(max_connections=self.outcome.sessions + 4, keepalive_expiry=1.5)
        async with httpx2.AsyncClient(base_url=self.base_url, timeout=60.0, limits=limits) as client:
            started = time.monotonic()
            self._deadline = started + self.seconds
            await asyncio.gather(*(self._citizen(client, number) for number in range(self.outcome.sessions)))
            self.outcome.seconds = time.monotonic() - started
        return self.outcome

    async def _citizen(self, client: httpx2.AsyncClient, number: int) -> None:
        rng = random.Random(self.seed * 1000 + number)
        weights = [s.weight for s in SCENARIOS]
        await asyncio.sleep(rng.uniform(0, THINK_S[1]))  # citizens do not all arrive at the same instant
        while time.monotonic() < self._deadline:
            scenario = rng.choices(SCENARIOS, weights)[0]
            await self._conversation(client, scenario, rng)
            self.outcome.conversations += 1

    async def _conversation(self, client: httpx2.AsyncClient, scenario: Scenario, rng: random.Random) -> None:
        sender = secrets.token_hex(16)
        for turn in scenario.turns:
            if time.monotonic() >= self._deadline:
                return
            text, expect = turn.text, turn.expect
            if "{reference}" in text:
                reference = rng.choice(self.references) if self.references else UNKNOWN_REFERENCE
                expect = expect if self.references else ANY
                text = text.format(reference=reference)
            body = {"sender": sender, "message": text, "channel": scenario.channel}
            started = time.perf_counter()
            try:
                reply = await client.post("/api/chat", json=body)
            except httpx2.HTTPError as exc:
                self.outcome.error(type(exc).__name__)
                return  # this citizen gives up on the conversation
            self.outcome.latencies_ms.append((time.perf_counter() - started) * 1000)
            if reply.status_code != 200:
                self.outcome.error(str(reply.status_code))
                return
            if not self._check(reply.json(), expect):
                return
            await asyncio.sleep(rng.uniform(*THINK_S))

    def _check(self, body: dict[str, Any], expect: frozenset[str]) -> bool:
        """False when the conversation cannot go on as scripted (the bot was unavailable or went elsewhere)."""
        kinds = {m["custom"].get("type") for m in body.get("messages", []) if isinstance(m.get("custom"), dict)}
        if "unavailable" in kinds:
            self.outcome.error("unavailable")
            return False
        for message in body["messages"]:
            custom = message.get("custom") or {}
            if custom.get("type") == "filing_draft":
                self.references.append(custom["reference"])
        if expect and not kinds & expect:
            self.outcome.unexpected += 1
            return False
        return True


def run_level(base_url: str, sessions: int, seconds: float, seed: int = 7) -> Outcome:
    return asyncio.run(Run(base_url, sessions, seconds, seed)())
