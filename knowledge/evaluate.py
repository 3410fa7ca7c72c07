"""Retrieval quality on a question set: recall@1/5/10, MRR@10 and out-of-scope rejection, per language."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from knowledge.errors import InputError
from knowledge.retriever import UNKNOWN, Result

KS = (1, 5, 10)


class Searcher(Protocol):
    def search(self, text: str, k: int = 5, mode: str = ...) -> Result: ...


@dataclass(frozen=True)
class Question:
    question: str
    codes: tuple[str, ...]  # acceptable answers; empty = out of scope
    lang: str


def read_questions(path: Path) -> list[Question]:
    """Rows of {"question", "codes", "lang"?}; errors name the file and line."""
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{path}:{number}: not valid JSON ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("question"), str) or not data["question"].strip():
            raise InputError(f"{path}:{number}: needs a non-empty string field 'question'")
        codes = data.get("codes", [])
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise InputError(f"{path}:{number}: 'codes' must be a list of procedure codes")
        rows.append(Question(data["question"], tuple(codes), str(data.get("lang") or "all")))
    if not rows:
        raise InputError(f"{path}: no questions")
    return rows


def _empty() -> dict[str, float]:
    return defaultdict(float)


def evaluate(searcher: Searcher, questions: list[Question], k: int = 10, mode: str = "hybrid") -> dict[str, Any]:
    """Scores overall and per language; `misses` lists in-scope questions not answered at rank 1."""
    sums: dict[str, dict[str, float]] = defaultdict(_empty)
    misses = []
    for q in questions:
        result = searcher.search(q.question, k=k, mode=mode)
        ranked = [h.code for h in result.hits]
        for group in ("overall", q.lang):
            s = sums[group]
            if not q.codes:
                s["oos"] += 1
                s["oos_rejected"] += result.verdict == UNKNOWN
                continue
            s["n"] += 1
            rank = next((i for i, code in enumerate(ranked, start=1) if code in q.codes), None)
            for cut in KS:
                s[f"recall@{cut}"] += rank is not None and rank <= cut
            s["mrr@10"] += 1 / rank if rank is not None and rank <= 10 else 0
            s["answered_clear_right"] += result.verdict != UNKNOWN and rank == 1
            s["refused"] += result.verdict == UNKNOWN
        if q.codes and (not ranked or ranked[0] not in q.codes):
            misses.append(
                {
                    "question": q.question,
                    "lang": q.lang,
                    "want": list(q.codes),
                    "got": ranked[:3],
                    "verdict": result.verdict,
                }
            )
    out: dict[str, Any] = {}
    for group, s in sums.items():
        row: dict[str, Any] = {"questions": int(s["n"]), "out_of_scope": int(s["oos"])}
        if s["n"]:
            for key in [*(f"recall@{c}" for c in KS), "mrr@10"]:
                row[key] = round(s[key] / s["n"], 4)
            row["refused_in_scope"] = round(s["refused"] / s["n"], 4)
        if s["oos"]:
            row["oos_rejection"] = round(s["oos_rejected"] / s["oos"], 4)
        out[group] = row
    return {"groups": out, "misses": misses}


def format_table(result: dict[str, Any]) -> str:
    cols = [
        "questions",
        "recall@1",
        "recall@5",
        "recall@10",
        "mrr@10",
        "refused_in_scope",
        "out_of_scope",
        "oos_rejection",
    ]
    lines = [f"{'group':10}" + "".join(f"{c:>17}" for c in cols)]
    for group, row in result["groups"].items():
        cells = [row.get(c, "") for c in cols]
        lines.append(f"{group:10}" + "".join(f"{v:>17}" if v != "" else f"{'-':>17}" for v in cells))
    return "\n".join(lines)
