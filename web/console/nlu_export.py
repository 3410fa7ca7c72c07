"""Staff-chosen citizen messages as Rasa 3.x NLU training data (`nlu.yml`), and the intents to choose from.

The intents come from the bot's domain files (`bot/domain/*.yml`), read as YAML: the web app never
imports Rasa. Each message becomes one `- text` line of a literal block, so nothing inside it needs
YAML quoting; what a literal block cannot hold (line breaks, control characters) is made a space.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import yaml

NOT_TRAINABLE = {"nlu_fallback"}  # predicted by Rasa's FallbackClassifier, never trained on examples
# Rasa reads "[words](entity)" and "[words]{...}" in an example as an entity annotation.
ANNOTATION = re.compile(r"\[[^\]]*\]\s*[({]")


class DomainError(RuntimeError):
    """The bot's domain files could not be read; the message names the file."""


def domain_intents(domain: Path) -> list[str]:
    """Every intent the bot's domain declares (a domain file or a folder of them), sorted."""
    files = sorted(domain.glob("*.yml")) + sorted(domain.glob("*.yaml")) if domain.is_dir() else [domain]
    intents: set[str] = set()
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise DomainError(f"{path}: {exc.__class__.__name__}") from exc
        declared = data.get("intents") if isinstance(data, dict) else None
        for entry in declared or []:
            name = next(iter(entry)) if isinstance(entry, dict) and entry else entry
            if isinstance(name, str):
                intents.add(name)
    return sorted(intents - NOT_TRAINABLE)


def example_text(text: str) -> str:
    """A message as one training example: one line, printable, no accidental entity annotation."""
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        # Cc: control characters and line breaks; Cs: lone surrogates; U+FFFE/U+FFFF: not characters.
        kept.append(" " if category in ("Cc", "Cs", "Zl", "Zp") or ch in "\ufffe\uffff" else ch)
    line = " ".join("".join(kept).split())
    if ANNOTATION.search(line):
        line = line.replace("[", "(").replace("]", ")")
    return line


def nlu_yaml(intent: str, texts: Iterable[str]) -> str:
    """Rasa 3.x NLU data with `texts` (blank ones and repeats dropped) as examples of `intent`."""
    if not re.fullmatch(r"[A-Za-z0-9_]+", intent):
        raise ValueError(f"intent {intent!r} is not a plain intent name")
    examples = list(dict.fromkeys(line for line in map(example_text, texts) if line))
    if not examples:
        raise ValueError("no messages to export")
    lines = ['version: "3.1"', "nlu:", f"- intent: {intent}", "  examples: |"]
    lines += [f"    - {example}" for example in examples]
    return "\n".join(lines) + "\n"
