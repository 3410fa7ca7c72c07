"""A linear intent classifier over the pipeline's sentence features.

Logistic regression on two views of a message: its bag of (folded) words and character n-grams,
re-weighted as sublinear TF-IDF, and its multilingual e5 embedding. It trains in seconds, its
probabilities are calibrated enough for the FallbackClassifier's threshold, and on our data it
separates intents better than DIET did (see results/nlu.md). The model is stored as plain arrays
(npz + json), never pickled.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers import LABEL_RANKING_LENGTH
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

log = logging.getLogger(__name__)
ARRAYS, LABELS = "linear_intent.npz", "linear_intent.json"


View = tuple[scipy.sparse.spmatrix | None, np.ndarray | None]  # (sparse, dense) sentence features of a message


def _sentence_views(message: Message) -> View:
    _, sparse = message.get_sparse_features(TEXT)
    _, dense = message.get_dense_features(TEXT)
    return (
        sparse.features if sparse is not None else None,
        np.asarray(dense.features, dtype=np.float64) if dense is not None else None,
    )


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    """Multinomial logistic regression on TF-IDF(sparse sentence features) ⊕ dense sentence features."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"C": 20.0, "dense_weight": 3.0, "max_iter": 3000}

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        labels: list[str] | None = None,
        idf: np.ndarray | None = None,
        coef: np.ndarray | None = None,
        intercept: np.ndarray | None = None,
    ) -> None:
        self.config = config
        self._model_storage = model_storage
        self._resource = resource
        self.labels = labels or []
        self.idf = idf
        self.coef = coef
        self.intercept = intercept

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    # -- features --------------------------------------------------------------------------------

    def _matrix(self, views: list[View]) -> scipy.sparse.csr_matrix:
        """One row per message: L2-normalised sublinear TF-IDF of the sparse view, then the dense view."""
        assert self.idf is not None
        sparse_rows, dense_rows = [], []
        for sparse, dense in views:
            width = self.idf.shape[0]
            if sparse is None or sparse.shape[1] != width:
                sparse = scipy.sparse.csr_matrix((1, width))
            sparse_rows.append(scipy.sparse.csr_matrix(sparse))
            dense_rows.append(dense.reshape(1, -1) if dense is not None else None)
        counts = scipy.sparse.vstack(sparse_rows).tocsr().astype(np.float64)
        counts.data = 1.0 + np.log(np.maximum(counts.data, 1e-12))  # sublinear term frequency
        weighted = counts.multiply(self.idf.reshape(1, -1)).tocsr()
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1))).ravel()
        norms[norms == 0] = 1.0
        weighted = scipy.sparse.diags(1.0 / norms) @ weighted
        dense_width = next((d.shape[1] for d in dense_rows if d is not None), 0)
        if not dense_width:
            return weighted.tocsr()
        dense = np.vstack([d if d is not None else np.zeros((1, dense_width)) for d in dense_rows])
        return scipy.sparse.hstack([weighted, scipy.sparse.csr_matrix(dense * self.config["dense_weight"])]).tocsr()

    # -- training --------------------------------------------------------------------------------

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        examples = [m for m in training_data.intent_examples if m.get(TEXT)]
        labels = sorted({m.get(INTENT) for m in examples})
        if len(labels) < 2:
            log.warning("LinearIntentClassifier needs at least two intents; nothing trained")
            return self._resource
        views = [_sentence_views(m) for m in examples]
        first = next((sparse for sparse, _ in views if sparse is not None), None)
        if first is None:
            raise ValueError("LinearIntentClassifier needs a sparse featurizer (CountVectorsFeaturizer) before it")
        document_frequency = np.zeros(first.shape[1])
        for sparse, _ in views:
            if sparse is not None:
                document_frequency[scipy.sparse.csr_matrix(sparse).indices] += 1
        self.idf = np.log((1 + len(examples)) / (1 + document_frequency)) + 1.0
        X = self._matrix(views)
        y = np.array([labels.index(m.get(INTENT)) for m in examples])
        model = LogisticRegression(C=float(self.config["C"]), max_iter=int(self.config["max_iter"]))
        model.fit(X, y)
        self.labels, self.coef, self.intercept = labels, model.coef_, model.intercept_
        self.persist()
        return self._resource

    # -- prediction ------------------------------------------------------------------------------

    def probabilities(self, messages: list[Message]) -> np.ndarray:
        assert self.coef is not None and self.intercept is not None
        logits = np.asarray(self._matrix([_sentence_views(m) for m in messages]) @ self.coef.T) + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def process(self, messages: list[Message]) -> list[Message]:
        ready = self.coef is not None and bool(self.labels)
        scored = [m for m in messages if ready and m.get(TEXT)]
        probabilities = self.probabilities(scored) if scored else np.zeros((0, len(self.labels)))
        by_id = {id(m): p for m, p in zip(scored, probabilities, strict=False)}
        for message in messages:
            row = by_id.get(id(message))
            if row is None:
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
                continue
            order = np.argsort(-row)[:LABEL_RANKING_LENGTH]
            ranking = [{"name": self.labels[i], "confidence": float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    # -- storage ---------------------------------------------------------------------------------

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as directory:
            np.savez(directory / ARRAYS, idf=self.idf, coef=self.coef, intercept=self.intercept)
            (directory / LABELS).write_text(json.dumps(self.labels, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                arrays = np.load(directory / ARRAYS, allow_pickle=False)
                labels = json.loads((directory / LABELS).read_text(encoding="utf-8"))
                return cls(config, model_storage, resource, labels, arrays["idf"], arrays["coef"], arrays["intercept"])
        except (ValueError, FileNotFoundError):
            log.warning("LinearIntentClassifier: no trained model found; every message gets no intent")
            return cls(config, model_storage, resource)
