"""The photo-search data, encoders, retrieval measures and index."""

from __future__ import annotations

import numpy as np
import pytest

from models.cards import find_card
from models.data import photos
from models.retrieval import mean_recall, recall_at_k, relevance, tag_scores, top_k
from simulator.apps.photo_search.index import IndexSettings, PhotoIndex, work_card


def test_photo_pixels_depend_on_seed_and_id_only():
    scene = photos.Scene("pet", "red", "garden", "day")
    a = photos.photo_pixels(3, 17, scene)
    assert a.shape == (3, 64, 64) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    photos.photo_pixels(3, 18, scene)
    assert np.array_equal(a, photos.photo_pixels(3, 17, scene))
    assert not np.array_equal(a, photos.photo_pixels(4, 17, scene))


def test_night_photos_show_no_colour_and_captions_say_only_what_is_visible():
    night = photos.Scene("person", "red", "porch", "night")
    assert "colour" not in photos.visible(night)
    rng = np.random.default_rng(0)
    for _ in range(50):
        text, said = photos.caption(night, rng)
        assert "red" not in text and photos.matches(night, said)


def test_held_out_phrasings_are_never_trained_on():
    rng = np.random.default_rng(1)
    train = [photos.caption(photos.random_scene(rng), rng)[0] for _ in range(300)]
    assert not any(t.startswith(prefix) for t in train for prefix in photos.HELD_OUT_PREFIXES)
    assert {"show", "find", "where", "please"}.isdisjoint(photos.VOCAB)  # out of vocabulary
    bag = photos.tokenize("show me the RED dog please")
    assert bag.sum() == 3 and bag[photos.VOCAB.index("red")] == 1


def test_retrieval_measures():
    relevant = np.array([True, False, True, False, False])
    assert recall_at_k([0, 2, 1], relevant, k=2) == 1.0
    assert recall_at_k([1, 3, 0], relevant, k=2) == 0.0
    assert recall_at_k([0], np.zeros(3, bool)) is None
    assert mean_recall([[0, 1]], [relevant], k=2) == 0.5
    assert top_k(np.array([0.1, 0.9, 0.9, 0.5]), 3).tolist() == [1, 2, 3]
    proba = np.array([[0.1, 0.8, 0.05, 0.05], [0.7, 0.1, 0.1, 0.1], [0.1, 0.6, 0.2, 0.1]])
    assert top_k(tag_scores("a man on the porch", proba), 2).tolist() == [0, 2]
    assert not tag_scores("the kitchen at night", proba).any()  # tags know subjects only


def test_cards_int8_keeps_recall_and_both_beat_tag_search():
    for model in ("photo_image_encoder", "photo_text_encoder"):
        fp32, int8 = find_card(model, "fp32"), find_card(model, "int8")
        assert int8.precision == "int8" and int8.bytes < fp32.bytes / 3
        assert abs(int8.accuracy - fp32.accuracy) < 0.02
        assert fp32.accuracy > fp32.extra["tag_search_recall_at_10"] + 0.5
        assert "phone" in fp32.devices_fit and fp32.macs > 0


def test_real_encoders_find_held_out_scenes_from_held_out_phrasings():
    from models import runtime

    x, scenes = photos.make_photos("test", 200, seed=9)
    queries = photos.make_queries(40, seed=9)
    gallery = runtime.load("photo_image_encoder", "int8").outputs(x)
    texts = runtime.load("photo_text_encoder", "int8").outputs(photos.tokenize_many([t for t, _ in queries]))
    assert np.allclose(np.linalg.norm(gallery, axis=1), 1, atol=1e-3)
    masks = [relevance(scenes, wants) for _, wants in queries]
    recall = mean_recall([top_k(s, 10) for s in texts @ gallery.T], masks)
    assert recall > 0.8


def test_training_is_seeded():
    from models import train_photo

    recipe = train_photo.Recipe(n_train=256, n_val=64, epochs=1, batch_size=64)
    first, second = train_photo.fit(recipe, log=lambda _: None), train_photo.fit(recipe, log=lambda _: None)
    for a, b in zip(first[:2], second[:2], strict=True):
        assert all(np.array_equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


@pytest.mark.parametrize("kind", ["hnsw", "exact"])
def test_index_finds_neighbours_and_counts_its_work(kind):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 16)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    index = PhotoIndex(16, IndexSettings(kind=kind))
    assert index.search(x[0], 10).keys.size == 0  # empty index: empty answer
    work = index.add(np.arange(1000), x[:1000]) + index.add(np.arange(1000, 2000), x[1000:])
    assert len(index) == 2000 and index.keys().tolist() == list(range(2000))
    exact = index.search(x[5], 10, exact=True)
    found = index.search(x[5], 10)
    assert exact.keys[0] == 5 and found.keys[0] == 5 and abs(found.scores[0] - 1) < 1e-4
    assert len(set(found.keys.tolist()) & set(exact.keys.tolist())) >= 8
    if kind == "hnsw":
        assert 0 < found.distances_computed < 2000 and work > 2000 and index.memory_bytes() > x.nbytes
    else:
        assert found.distances_computed == 2000 and work == 0


def test_unknown_index_kind_and_work_card():
    with pytest.raises(ValueError, match="unknown index kind 'annoy'"):
        PhotoIndex(8, IndexSettings(kind="annoy"))
    card = work_card("hnsw", 400, 64, "f32", cost_factor=10.0)
    assert card.macs == 400 * 64 * 10 and card.bytes == 400 * 64 * 4 and card.precision == "fp32"
    assert work_card("exact", 400, 64, "i8", cost_factor=10.0).macs == 400 * 64
