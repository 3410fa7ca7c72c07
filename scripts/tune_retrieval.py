"""Choose the retriever's weights and verdict thresholds on a question set.

`python -m scripts.tune_retrieval [knowledge/eval/devset.jsonl]` asks the index and BM25 once per
question, then re-weights those signals offline: it grid-searches the share of stored questions in
the dense score and the lexical weights (recall@1), then shows, per language, what each
out-of-scope cut would reject and refuse, and what each ambiguity margin would do. Copy the choice
into knowledge/retriever.py's Thresholds. Tune on one question set and check on another
(knowledge/eval/heldout.jsonl is never tuned on).
"""

from __future__ import annotations

import dataclasses
import itertools
import sys
from pathlib import Path

from knowledge.evaluate import read_questions
from knowledge.retriever import HYBRID, Thresholds, open_retriever
from knowledge.settings import PROJECT_ROOT, KnowledgeSettings


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_ROOT / "knowledge" / "eval" / "devset.jsonl"
    questions = read_questions(path)
    retriever = open_retriever(KnowledgeSettings.from_env())
    signals = [retriever.signals(" ".join(q.question.split()), mode=HYBRID) for q in questions]
    in_scope = [i for i, q in enumerate(questions) if q.codes]
    langs = sorted({q.lang for q in questions})

    def recall(t: Thresholds) -> tuple[float, dict[str, float]]:
        hits: dict[str, list[bool]] = {lang: [] for lang in langs}
        for i in in_scope:
            fused = retriever.combine(signals[i], HYBRID, t).fused
            hits[questions[i].lang].append(bool(fused) and max(fused, key=fused.__getitem__) in questions[i].codes)
        per = {lang: sum(h) / len(h) for lang, h in hits.items() if h}
        return sum(sum(h) for h in hits.values()) / len(in_scope), per

    base = retriever.thresholds
    grid = itertools.product(
        (0.3, 0.4, 0.5, 0.6, 0.7), (0.0, 0.15, 0.3), (0.2, 0.4, 0.8), (0.2, 0.4), (0.02, 0.04, 0.06)
    )
    best_score, best = -1.0, base
    for weight, w_vi, w_plain, w_other, gap in grid:
        t = dataclasses.replace(
            base,
            question_weight=weight,
            lexical_weight=w_vi,
            lexical_weight_plain=w_plain,
            lexical_weight_other=w_other,
            question_gap=gap,
        )
        score = recall(t)[0]
        if score > best_score:
            best_score, best = score, t
    overall, per = recall(best)
    print(
        f"question_weight={best.question_weight} lexical_weight={best.lexical_weight} "
        f"lexical_weight_plain={best.lexical_weight_plain} lexical_weight_other={best.lexical_weight_other} "
        f"question_gap={best.question_gap}: recall@1 {overall:.3f} "
        + " ".join(f"{lang} {v:.3f}" for lang, v in per.items())
    )
    print("online twins (online_bonus): " + ", ".join(
        f"{bonus} -> {recall(dataclasses.replace(base, online_bonus=bonus))[0]:.3f}" for bonus in (0.0, 0.005, 0.01, 0.02)
    ))  # fmt: skip
    now = recall(base)
    print(f"current thresholds: recall@1 {now[0]:.3f} " + " ".join(f"{lang} {v:.3f}" for lang, v in now[1].items()))

    rankings = [retriever.combine(s, HYBRID, base) for s in signals]
    print("\nout of scope, per language: share of out-of-scope rejected / share of real questions refused")
    for cut, margin, per_match, plain_margin, covered in itertools.product(
        (0.9, 0.91), (0.0, 0.005, 0.01, 0.015), (0.0, 0.04), (-0.01, 0.0), (0.5, 1.01)
    ):
        t = dataclasses.replace(
            base,
            unknown_question_below=cut,
            outside_margin=margin,
            outside_margin_per_match=per_match,
            outside_margin_plain=plain_margin,
            unknown_covered_plain_below=covered,
        )
        cells = []
        for lang in langs:
            rows = [i for i, q in enumerate(questions) if q.lang == lang]
            rejected = [not retriever.relevant(rankings[i], t) for i in rows]
            oos = [r for i, r in zip(rows, rejected, strict=True) if not questions[i].codes]
            real = [r for i, r in zip(rows, rejected, strict=True) if questions[i].codes]
            cells.append(f"{lang} {sum(oos) / max(1, len(oos)):.3f}/{sum(real) / max(1, len(real)):.3f}")
        print(
            f"cut={cut} margin={margin} per_match={per_match} plain_margin={plain_margin} plain_covered={covered}: "
            + "  ".join(cells)
        )

    for margin in (0.004, 0.006, 0.008, 0.01):
        close = []
        for i in in_scope:
            ordered = sorted(rankings[i].fused.items(), key=lambda kv: -kv[1])
            if len(ordered) > 1 and ordered[0][1] - ordered[1][1] < margin:
                close.append(ordered[0][0] not in questions[i].codes)
        print(f"ambiguous_within={margin}: {len(close)} questions get choices, {sum(close)} of them wrong at rank 1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
