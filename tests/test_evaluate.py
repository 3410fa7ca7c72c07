"""`eval` computes recall@k, MRR@10 and out-of-scope rejection per language, and names bad input rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.errors import InputError
from knowledge.evaluate import Question, evaluate, read_questions
from knowledge.retriever import CLEAR, UNKNOWN, Hit, Result


class ScriptedSearcher:
    """Answers each question with a fixed ranking and verdict."""

    def __init__(self, answers: dict[str, tuple[list[str], str]]) -> None:
        self.answers = answers

    def search(self, text: str, k: int = 5, mode: str = "hybrid") -> Result:
        codes, verdict = self.answers[text]
        return Result(verdict, [Hit(c, 1.0 - i / 10, None) for i, c in enumerate(codes[:k])])  # type: ignore[arg-type]


def test_metrics_per_language() -> None:
    questions = [
        Question("a", ("1",), "vi"),
        Question("b", ("2",), "vi"),
        Question("c", ("3", "4"), "en"),
        Question("d", (), "en"),
        Question("e", (), "en"),
    ]
    searcher = ScriptedSearcher(
        {
            "a": (["1", "9"], CLEAR),
            "b": (["9", "8", "2"], CLEAR),
            "c": (["4"], CLEAR),
            "d": (["7"], UNKNOWN),
            "e": (["7"], CLEAR),
        }
    )
    result = evaluate(searcher, questions)
    overall, vi, en = result["groups"]["overall"], result["groups"]["vi"], result["groups"]["en"]
    assert overall["questions"] == 3 and overall["out_of_scope"] == 2
    assert overall["recall@1"] == pytest.approx(2 / 3, abs=1e-4) and overall["recall@5"] == 1.0
    assert overall["mrr@10"] == pytest.approx((1 + 1 / 3 + 1) / 3, abs=1e-4)
    assert vi["recall@1"] == 0.5 and en["recall@1"] == 1.0
    assert en["oos_rejection"] == 0.5
    assert [m["question"] for m in result["misses"]] == ["b"]


def test_read_questions_names_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"question": "khai sinh", "codes": ["1.001193"]}) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"q\.jsonl:2: not valid JSON"):
        read_questions(path)
    path.write_text(json.dumps({"question": "x", "codes": "1.001193"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r":1: 'codes' must be a list"):
        read_questions(path)
    path.write_text(json.dumps({"question": "khai sinh", "codes": []}) + "\n", encoding="utf-8")
    assert read_questions(path) == [Question("khai sinh", (), "all")]
