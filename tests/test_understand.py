"""The shared understanding layer: the numpy BERT reproduces all-MiniLM-L6-v2, once per process."""

from __future__ import annotations

import numpy as np
import pytest

from companion.understand.encoder import SentenceEncoder
from companion.understand.heads import ExemplarBank, LinearHead
from companion.understand.reading import Understanding


@pytest.fixture(scope="module")
def understanding() -> Understanding:
    return Understanding.load()


def test_embedding_matches_the_reference_sentence_transformers_output(understanding):
    vec = understanding.encoder.encode("This is an example sentence")
    # sentence-transformers' all-MiniLM-L6-v2 gives 0.0677, 0.0635, 0.0487 for this sentence
    assert np.allclose(vec[:3], [0.0677, 0.0635, 0.0487], atol=5e-4)
    assert vec.shape == (384,) and abs(float(np.linalg.norm(vec)) - 1) < 1e-5


def test_similar_meanings_are_close_and_the_cache_saves_work(understanding):
    fell = understanding.read("I've fallen and I can't get up")
    floor = understanding.read("help me i fell on the floor")
    garden = understanding.read("what a lovely day in the garden")
    assert fell.similarity(floor) > fell.similarity(garden) + 0.3
    calls = understanding.encoder.calls
    again = understanding.read("I've   fallen and I can't get up")
    assert understanding.encoder.calls == calls and np.array_equal(again.vector, fell.vector)


def test_a_very_long_utterance_keeps_its_start(understanding):
    words = "I was telling you about my garden and the roses " * 40
    assert understanding.read(words).vector.shape == (384,)


def test_heads_train_save_and_load(tmp_path, understanding):
    examples = [("i fell down the stairs", "fall"), ("i have had a fall", "fall"), ("i slipped and fell over", "fall"),
                ("the roses are lovely", "chat"), ("i made soup for lunch", "chat"), ("it is sunny today", "chat")]
    x = understanding.encoder.encode_many([t for t, _ in examples])
    head = LinearHead.train(x, [label for _, label in examples], l2=1e-2)
    head.save(tmp_path / "h.npz")
    again = LinearHead.load(tmp_path / "h.npz")
    assert again.predict(understanding.read("i tripped and fell in the kitchen").vector)[0] == "fall"
    assert again.predict(understanding.read("we had tea in the garden").vector)[0] == "chat"
    bank = ExemplarBank.build(understanding.encoder, examples)
    bank.save(tmp_path / "b.npz")
    nearest = ExemplarBank.load(tmp_path / "b.npz").nearest(understanding.read("i had a fall").vector, k=1)
    assert nearest[0][1] == "fall"


def test_a_missing_model_directory_names_the_fix(tmp_path):
    from companion.errors import ModelMissingError

    with pytest.raises(ModelMissingError, match="setup.sh"):
        SentenceEncoder.load(tmp_path)
