"""NLU 5-fold cross-validation of bot/data/nlu with config.yml; writes results/nlu.{json,md}."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from scripts.supervise import ROOT

OUT = ROOT / "results"


def main() -> int:
    out = OUT / "nlu-cv"
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "PYTHONWARNINGS": "ignore"}
    started = time.perf_counter()
    subprocess.run(
        [str(ROOT / ".venv-rasa" / "bin" / "rasa"), "test", "nlu", "--nlu", "bot/data/nlu", "--config", "config.yml",
         "--cross-validation", "--folds", "5", "--out", str(out)],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    took = time.perf_counter() - started
    report = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
    intents = {k: v for k, v in report.items() if isinstance(v, dict) and "f1-score" in v and "avg" not in k}
    macro = report["macro avg"]["f1-score"]
    lines = [
        f"# NLU 5-fold cross-validation ({time.strftime('%Y-%m-%d %H:%M:%S')}, {took:.0f} s)",
        "",
        f"intent macro-F1 {macro:.3f} (target 0.95), accuracy {report['accuracy']:.3f}",
        "",
        "| intent | precision | recall | F1 | examples |",
        "|---|---|---|---|---|",
        *[
            f"| {name} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1-score']:.3f} | {v['support']} |"
            for name, v in sorted(intents.items(), key=lambda kv: kv[1]["f1-score"])
        ],
    ]
    (OUT / "nlu.json").write_text(
        json.dumps({"macro_f1": macro, "accuracy": report["accuracy"], "intents": intents}, indent=2)
    )
    (OUT / "nlu.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
