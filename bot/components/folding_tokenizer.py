"""Whitespace tokens with Vietnamese diacritics folded away.

Citizens type "đăng ký khai sinh" and "dang ky khai sinh" for the same thing. Folding the tokens
lets the count-vector featurizers see one word where there were two spellings, so examples typed
with diacritics also teach the model about messages typed without them (and the other way round).
Token offsets still point into the original text, so regex entities are untouched.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message


def fold(text: str) -> str:
    """Lower-case, without combining marks; đ becomes d."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn"))


def fold_latin(text: str) -> str:
    """Fold only Latin-script words: Bengali vowel signs are combining marks and must stay."""
    if any("\u0980" <= ch <= "\u09ff" for ch in text):
        return text.lower()
    return fold(text)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class FoldingWhitespaceTokenizer(WhitespaceTokenizer):
    """WhitespaceTokenizer whose tokens are lower-cased and free of Vietnamese diacritics."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> FoldingWhitespaceTokenizer:
        return cls(config)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens = super().tokenize(message, attribute)
        for token in tokens:
            token.text = fold_latin(token.text)
        return tokens
