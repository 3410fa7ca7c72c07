"""Choose the fusion weights and verdict thresholds of the retriever on a question set.

`python -m scripts.tune_retrieval [knowledge/eval/devset.jsonl]` ranks each question once, then
grid-searches the lexical weight (separately for Vietnamese with and without diacritics) and the
unknown thresholds (reject >= 95% of out-of-scope questions while refusing as few real ones as
possible), and reports what each ambiguity margin would do. Copy the choice into
knowledge/retriever.py's Thresholds. Tune on one question set and check on another.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from knowledge.evaluate import read_questions
from knowledge.retriever import HYBRID, fuse, lift, open_retriever
from knowledge.settings import PROJECT_ROOT, KnowledgeSettings
from knowledge.text import has_diacritics


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else PROJECT_ROOT / "knowledge" / "eval" / "devset.jsonl"
    questions = read_questions(path)
    retriever = open_retriever(KnowledgeSettings.from_env())
    texts = [" ".join(q.question.split()) for q in questions]
    rankings = [retriever.rank(t, mode=HYBRID) for t in texts]

    def ordered(i: int, w_marks: float, w_plain: float, half: float) -> list[tuple[str, float]]:
        weight = w_marks if has_diacritics(texts[i]) else w_plain
        fused = fuse(rankings[i].dense, rankings[i].lexical, weight, half)
        return sorted(fused.items(), key=lambda kv: -kv[1])

    in_scope = [i for i, q in enumerate(questions) if q.codes]
    oos = [i for i, q in enumerate(questions) if not q.codes]
    weights = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0)
    plain_weights = (*weights, 1.5, 2.0, 3.0, 5.0)  # dense is weak on Vietnamese without diacritics
    best = max(
        itertools.product(weights, plain_weights, (2.0, 4.0, 8.0, 16.0, 32.0)),
        key=lambda w: sum(ordered(i, *w)[0][0] in questions[i].codes for i in in_scope),
    )
    tops = [ordered(i, *best) for i in range(len(questions))]
    hits = sum(tops[i][0][0] in questions[i].codes for i in in_scope)
    print(
        f"lexical_weight={best[0]} lexical_weight_plain={best[1]} lexical_half={best[2]}: "
        f"recall@1 {hits / len(in_scope):.3f} ({len(in_scope)} questions)"
    )

    # (score cut, lift cut, share of real questions refused, share of out-of-scope rejected)
    cuts = []
    for score_cut, lift_cut in itertools.product([x / 100 for x in range(78, 92)], [x / 1000 for x in range(0, 80, 4)]):
        refused = [tops[i][0][1] < score_cut or lift(tops[i]) < lift_cut for i in range(len(questions))]
        wrongly = sum(refused[i] for i in in_scope) / max(1, len(in_scope))
        cuts.append((score_cut, lift_cut, wrongly, sum(refused[i] for i in oos) / max(1, len(oos))))
    strict = [c for c in cuts if c[3] >= 0.95]
    gentle = [c for c in cuts if c[2] <= 0.05]
    for label, pool, pick in (
        ("rejecting >= 95% of out-of-scope", strict, lambda c: -c[2]),
        ("refusing <= 5% of real questions", gentle, lambda c: c[3]),
    ):
        if pool:
            c = max(pool, key=pick)
            print(
                f"{label}: unknown_below={c[0]} unknown_lift_below={c[1]}: out-of-scope rejected {c[3]:.3f}, real refused {c[2]:.3f}"
            )
    for margin in (0.002, 0.004, 0.006, 0.01):
        ambiguous = [i for i in in_scope if len(tops[i]) > 1 and tops[i][0][1] - tops[i][1][1] < margin]
        wrong = [i for i in ambiguous if tops[i][0][0] not in questions[i].codes]
        print(
            f"ambiguous_within={margin}: {len(ambiguous)} questions get choices, {len(wrong)} of them wrong at rank 1"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
