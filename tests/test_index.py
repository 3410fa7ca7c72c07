"""The index is tied to its model and catalogue version, rebuilds only what changed, and refuses a mismatch."""

from __future__ import annotations

import json

import pytest

from knowledge import index as index_mod
from knowledge.catalog import load_catalog
from knowledge.retriever import AMBIGUOUS, CLEAR, UNKNOWN, Ranking, Retriever, Thresholds, asks_online
from knowledge.text import fold
from tests.conftest import CATALOG, FakeEncoder


def _build(settings, encoder):  # type: ignore[no-untyped-def]
    records = load_catalog(settings.catalog_dir)
    version = index_mod.index_version(records)
    return records, version, index_mod.build(records, encoder, settings.index_dir, version)


def test_build_then_skip_when_nothing_changed(settings, fake_encoder) -> None:  # type: ignore[no-untyped-def]
    records, version, (rebuilt, encoded) = _build(settings, fake_encoder)
    assert rebuilt and encoded == fake_encoder.calls > len(records)
    _, _, (rebuilt, encoded) = _build(settings, fake_encoder)
    assert (rebuilt, encoded) == (False, 0)
    loaded = index_mod.load(settings.index_dir, "fake-model", version, records)
    assert {p.code for p in loaded.passages} == {r.code for r in records} | {index_mod.OUTSIDE}


def test_only_changed_passages_are_encoded_again(settings, fake_encoder) -> None:  # type: ignore[no-untyped-def]
    _build(settings, fake_encoder)
    path = settings.catalog_dir / "1.001193.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("vi: Đăng ký khai sinh\n", "vi: Khai sinh cho trẻ\n", 1))
    counter = FakeEncoder()
    _, _, (rebuilt, encoded) = _build(settings, counter)
    assert rebuilt
    assert 0 < encoded <= 5  # the title passages (with and without diacritics) and those that quote the title


def test_another_data_folder_reuses_vectors_from_the_shared_store(settings, fake_encoder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A province's catalogue in its own folder encodes only what no earlier build on the machine has."""
    store = index_mod.vector_store(settings.cache_dir, fake_encoder.model_id)
    records = load_catalog(settings.catalog_dir)
    version = index_mod.index_version(records)
    _, first = index_mod.build(records, fake_encoder, settings.index_dir, version, store=store)
    assert first > 0

    other = tmp_path / "province-index"
    counter = FakeEncoder()
    assert index_mod.build(records, counter, other, version, store=store) == (True, 0)
    mine = index_mod.load(settings.index_dir, "fake-model", version, records)
    theirs = index_mod.load(other, "fake-model", version, records)
    assert [p.code for p in theirs.passages] == [p.code for p in mine.passages]

    changed = [
        r.model_copy(update={"summary": r.summary.model_copy(update={"vi": "Tóm tắt mới."})})
        if r.code == "1.001193"
        else r
        for r in records
    ]
    again = FakeEncoder()
    _, encoded = index_mod.build(changed, again, tmp_path / "third", index_mod.index_version(changed), store=store)
    assert encoded == again.calls == 2  # the summary, with and without diacritics

    store.write_bytes(b"not a vector store")  # a damaged store is ignored, not trusted
    fresh = FakeEncoder()
    _, encoded = index_mod.build(records, fresh, tmp_path / "fifth", version, store=store)
    assert encoded == first and index_mod.load(tmp_path / "fifth", "fake-model", version, records)

    stranger = FakeEncoder(model_id="another-model")
    _, encoded = index_mod.build(records, stranger, tmp_path / "fourth", version, store=store)
    assert encoded == first  # vectors of one model never serve another, even from the same file


def test_stored_questions_are_encoded_as_queries(settings) -> None:  # type: ignore[no-untyped-def]
    """e5 pairs a question with a question under the "query" prompt, with a text under "passage"."""

    class Recording(FakeEncoder):
        def __init__(self) -> None:
            super().__init__()
            self.as_questions: list[str] = []

        def encode_questions(self, texts: list[str], progress: bool = False):  # type: ignore[no-untyped-def]
            self.as_questions += texts
            return super().encode_questions(texts, progress)

    encoder = Recording()
    records, _, _ = _build(settings, encoder)
    birth = next(r for r in records if r.code == "1.001193")
    asked = set(encoder.as_questions)
    assert set(birth.questions.vi) <= asked and set(birth.questions.bn) <= asked
    assert set(birth.questions.vi_plain) <= asked
    assert birth.title.vi not in asked  # titles, names and summaries stay passages
    outside = index_mod.outside_questions()
    assert set(outside["en"]) <= asked


def test_every_procedure_of_ours_has_questions_in_each_language() -> None:
    """Stored questions are what most citizen questions match; a procedure without them is hard to find."""
    for record in load_catalog(CATALOG):
        q = record.questions
        counts = {"vi": len(q.vi), "vi_plain": len(q.vi_plain), "en": len(q.en), "bn": len(q.bn)}
        assert min(counts.values()) >= 5, (record.code, counts)
        titles = {fold(t) for t in (record.title.vi, record.title.en or "", record.title.bn or "")}
        assert not titles & {fold(x) for x in [*q.vi, *q.vi_plain, *q.en, *q.bn]}, record.code


def test_out_of_scope_file_is_checked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "out_of_scope.yml"
    bad.write_text("vi: [ok]\nfr: [non]\n", encoding="utf-8")
    with pytest.raises(index_mod.IndexUnusable, match=r"out_of_scope.yml: expected lists under vi, vi_plain, en, bn"):
        index_mod.outside_questions(path=bad)
    bad.write_text("vi: [ok, 3]\n", encoding="utf-8")
    with pytest.raises(index_mod.IndexUnusable, match=r"field vi must be a list of non-empty strings"):
        index_mod.outside_questions(path=bad)
    with pytest.raises(index_mod.IndexUnusable, match=r"missing.yml is missing"):
        index_mod.outside_questions(path=tmp_path / "missing.yml")


def test_refuses_other_model_and_changed_catalogue(settings, fake_encoder) -> None:  # type: ignore[no-untyped-def]
    records, version, _ = _build(settings, fake_encoder)
    with pytest.raises(index_mod.IndexUnusable, match=r"built with model 'fake-model'.*make index"):
        index_mod.load(settings.index_dir, "other-model", version, records)
    with pytest.raises(index_mod.IndexUnusable, match=r"catalogue changed.*make index"):
        index_mod.load(settings.index_dir, "fake-model", "0000", records)


def test_missing_and_corrupt_index_say_how_to_rebuild(settings, fake_encoder) -> None:  # type: ignore[no-untyped-def]
    records = load_catalog(settings.catalog_dir)
    with pytest.raises(index_mod.IndexUnusable, match=r"no knowledge index.*make index"):
        index_mod.load(settings.index_dir, "fake-model", "x", records)
    _, version, _ = _build(settings, fake_encoder)
    (settings.index_dir / index_mod.INDEX_FILE).write_bytes(b"not a faiss index")
    with pytest.raises(index_mod.IndexUnusable, match=r"corrupt.*make index"):
        index_mod.load(settings.index_dir, "fake-model", version, records)
    (settings.index_dir / index_mod.META_FILE).write_text("{broken")
    with pytest.raises(index_mod.IndexUnusable, match=r"corrupt.*make index"):
        index_mod.load(settings.index_dir, "fake-model", version, records)


def test_meta_records_model_and_catalogue(settings, fake_encoder) -> None:  # type: ignore[no-untyped-def]
    records, version, _ = _build(settings, fake_encoder)
    meta = json.loads((settings.index_dir / index_mod.META_FILE).read_text())
    assert meta["model"] == "fake-model" and meta["catalog"] == version and meta["procedures"] == len(records)


def test_verdicts(settings, fake_encoder) -> None:  # type: ignore[no-untyped-def]
    records, version, _ = _build(settings, fake_encoder)
    loaded = index_mod.load(settings.index_dir, "fake-model", version, records)
    retriever = Retriever(
        records,
        fake_encoder,
        loaded,
        Thresholds(unknown_question_below=0.3, outside_margin=-1.0, ambiguous_within=0.05),
    )
    result = retriever.search("Đăng ký khai sinh")
    assert result.verdict in (CLEAR, AMBIGUOUS) and result.best is not None
    assert result.best.procedure.title.vi.startswith("Đăng ký khai sinh")
    assert retriever.search("zzz qqq xxx").verdict == UNKNOWN
    assert retriever.search("   ").verdict == UNKNOWN


def test_a_question_nearer_to_a_stored_out_of_scope_question_is_unknown(settings, fake_encoder) -> None:  # type: ignore[no-untyped-def]
    records, version, _ = _build(settings, fake_encoder)
    loaded = index_mod.load(settings.index_dir, "fake-model", version, records)
    retriever = Retriever(records, fake_encoder, loaded, Thresholds(unknown_question_below=0.0))
    outside = index_mod.outside_questions()
    for lang in ("vi", "en", "bn"):
        text = outside[lang][0]
        assert retriever.search(text).verdict == UNKNOWN, text
    birth = next(r for r in records if r.code == "1.001193")
    result = retriever.search(birth.questions.en[0])
    assert result.verdict != UNKNOWN and result.best is not None and result.best.code == "1.001193"


def test_words_shared_with_the_catalogue_decide_a_near_tie_with_an_out_of_scope_question(
    settings, fake_encoder
) -> None:  # type: ignore[no-untyped-def]
    """Stored everyday and procedure questions nearly as close: the catalogue's own words tip it."""
    records, version, _ = _build(settings, fake_encoder)
    retriever = Retriever(records, fake_encoder, index_mod.load(settings.index_dir, "fake-model", version, records))
    near_tie = {"dense": {}, "lexical": {}, "fused": {}, "language": "en", "evidence": 0.95, "outside": 0.945}
    assert retriever.relevant(Ranking(**near_tie, matched=0.9))  # "birth certificate for my baby"
    assert not retriever.relevant(Ranking(**near_tie, matched=0.05))  # no word of ours in it
    assert not retriever.relevant(Ranking(**near_tie | {"outside": 0.97}, matched=0.9))  # nearer to everyday life


def test_lexical_half_finds_vietnamese_typed_without_diacritics(settings, fake_encoder) -> None:  # type: ignore[no-untyped-def]
    from knowledge.retriever import HYBRID, LEXICAL, lexical_tokens

    assert lexical_tokens("Đăng ký khai sinh") == ["dang", "ky", "khai", "sinh", "dang_ky", "ky_khai", "khai_sinh"]
    records, version, _ = _build(settings, fake_encoder)
    loaded = index_mod.load(settings.index_dir, "fake-model", version, records)
    retriever = Retriever(records, fake_encoder, loaded, Thresholds(unknown_question_below=0.0, outside_margin=-2.0))
    assert retriever.search("dang ky ket hon", mode=LEXICAL).best.code in {"1.000894", "2.000806"}  # type: ignore[union-attr]
    assert retriever.rank("dang ky ket hon", mode=HYBRID).lexical


def test_english_and_bengali_questions_match_our_text_in_their_own_language(settings, fake_encoder) -> None:  # type: ignore[no-untyped-def]
    from knowledge.retriever import HYBRID

    records, version, _ = _build(settings, fake_encoder)
    loaded = index_mod.load(settings.index_dir, "fake-model", version, records)
    retriever = Retriever(records, fake_encoder, loaded, Thresholds(unknown_question_below=0.0, outside_margin=-2.0))
    marriage = {r.code for r in records if "kết hôn" in r.title.vi.lower()}
    english = retriever.rank("marriage registration", mode=HYBRID)
    assert english.lexical and max(english.lexical, key=english.lexical.get) in marriage  # type: ignore[arg-type]
    # The Vietnamese index would find nothing for English words: the English one did.
    assert not retriever.lexical["vi"].top("marriage registration", 10)
    assert english.fused != english.dense
    bengali = retriever.rank("বিবাহ নিবন্ধন", mode=HYBRID)
    assert bengali.lexical and max(bengali.lexical, key=bengali.lexical.get) in marriage  # type: ignore[arg-type]
    # English word forms meet: plural and singular, -ing and the bare verb.
    lexicon = retriever.lexical["en"]
    assert lexicon.top("marriage certificates", 10) == lexicon.top("marriage certificate", 10) != {}
    assert lexicon.top("registering a death", 10) == lexicon.top("register a death", 10) != {}
    # The same words with the long and short vowels swapped, as people often type them.
    slipped = retriever.rank("বীবাহ নীবন্ধন", mode=HYBRID)
    assert slipped.lexical and max(slipped.lexical, key=slipped.lexical.get) in marriage  # type: ignore[arg-type]


def test_a_not_in_catalogue_topic_is_dropped_once_the_catalogue_answers_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    everyday = tmp_path / "out_of_scope.yml"
    everyday.write_text("en: [weather today]\n", encoding="utf-8")
    elsewhere = tmp_path / "not_in_catalogue.yml"
    elsewhere.write_text(
        "- topic: work permits\n  codes: ['9.000001']\n  en: [how do I get a work permit]\n"
        "- topic: visas\n  codes: []\n  en: [extend my visa]\n",
        encoding="utf-8",
    )
    ours = index_mod.outside_questions({"1.001193"}, everyday, elsewhere)
    assert ours["en"] == ["weather today", "how do I get a work permit", "extend my visa"]
    imported = index_mod.outside_questions({"1.001193", "9.000001"}, everyday, elsewhere)
    assert imported["en"] == ["weather today", "extend my visa"]
    elsewhere.write_text("- topic: x\n  codes: []\n  fr: [non]\n", encoding="utf-8")
    with pytest.raises(index_mod.IndexUnusable, match=r"not_in_catalogue.yml: topic 1: expected lists under"):
        index_mod.outside_questions(set(), everyday, elsewhere)


@pytest.mark.parametrize(
    ("text", "online"),
    [
        ("làm lại đăng ký xe trực tuyến", True),
        ("lam lai dang ky xe qua mang", True),
        ("nộp trên VNeID được không", True),
        ("can I do it online", True),
        ("without going to the office", True),
        ("অনলাইনে করা যায়?", True),
        ("অফিসে না গিয়ে করা যায়?", True),
        ("অফিসে না গি\u09dfে করা যায়?", True),  # য় typed as one code point
        ("làm lại đăng ký xe", False),
        ("how much is the fee", False),
        ("ফি কত?", False),
        ("giấy tờ cần mang theo", False),  # "theo" is not an online cue
    ],
)
def test_asks_online(text: str, online: bool) -> None:
    assert asks_online(text) is online


def test_bm25_reads_an_imported_records_conditions_and_later_documents() -> None:
    """An import has no stored questions: a portal question about who qualifies or about its
    seventh document still finds it by those words. Our own records leave their conditions out."""
    from knowledge.retriever import LexicalIndex, lexical_text
    from knowledge.schema import Text

    records = load_catalog(CATALOG)
    first, second = records[0], records[1]
    docs = [first.documents[0].model_copy(update={"name": Text(vi=f"Giấy tờ số {n}")}) for n in range(6)]
    kiln = first.documents[0].model_copy(update={"name": Text(vi="Biên bản kiểm định lò hơi")})
    imported = [
        first.model_copy(update={"origin": "import", "documents": [*docs, kiln]}),
        second.model_copy(update={"origin": "import", "conditions": Text(vi="Chủ tàu cá hoạt động xa bờ.")}),
    ]
    index = LexicalIndex(imported)

    def best(lexicon: LexicalIndex, text: str) -> str | None:
        scores = lexicon.top(text, 5)
        return max(scores, key=scores.__getitem__) if scores else None

    assert best(index, "biên bản kiểm định lò hơi") == first.code
    assert best(index, "chủ tàu cá xa bờ") == second.code
    own = second.model_copy(update={"conditions": Text(vi="Chủ tàu cá hoạt động xa bờ.")})
    assert "tàu cá" not in lexical_text(own)  # on our records it lowered the development set
