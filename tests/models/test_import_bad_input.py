"""Bad input to ``models import`` exits 2 naming the file and the node or field; the store is untouched."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import main


def tiny_classifier(path, op: str = "Softmax", domain: str = "", width: str | int = 4) -> str:
    """(N, 4) → 3 classes: MatMul, Add, then ``op`` (a real graph built with onnx.helper)."""
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="dense"),
        helper.make_node("Add", ["h", "b"], ["z"], name="bias"),
        helper.make_node(op, ["z"], ["y"], name="head", domain=domain),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        [
            numpy_helper.from_array(rng.normal(size=(4, 3)).astype(np.float32), "w"),
            numpy_helper.from_array(np.zeros(3, np.float32), "b"),
        ],
    )
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    model = helper.make_model(graph, opset_imports=opsets, ir_version=10)  # ONNX Runtime 1.31 reads IR ≤ 13
    onnx.save(model, str(path))
    return str(path)


def snapshot(store):
    return (
        sorted((p.relative_to(store).as_posix(), p.stat().st_size) for p in store.rglob("*"))
        if store.exists()
        else []
    )


@pytest.fixture
def store(tmp_path, monkeypatch):
    folder = tmp_path / "store"
    monkeypatch.setenv("HOMETWIN_MODEL_STORE", str(folder))
    return folder


def run(argv, capsys):
    rc = main.main(argv)
    return rc, capsys.readouterr().err


def test_a_good_tiny_model_imports(store, tmp_path, capsys):
    rc, _ = run(["models", "import", tiny_classifier(tmp_path / "ok.onnx"), "--name", "tiny"], capsys)
    assert rc == 0
    assert (store / "tiny" / "fp32.card.json").exists()


def _cases(tmp_path):
    good = tiny_classifier(tmp_path / "good.onnx")
    text = tmp_path / "notes.onnx"
    text.write_text("this is a text file, not a model\n")
    data = (tmp_path / "good.onnx").read_bytes()
    truncated = tmp_path / "cut.onnx"
    truncated.write_bytes(data[: len(data) // 2])
    custom = tiny_classifier(tmp_path / "custom.onnx", op="Fancy", domain="com.example")
    unknown = tiny_classifier(tmp_path / "unknown.onnx", op="NoSuchOp")
    symbolic = tiny_classifier(tmp_path / "symbolic.onnx", width="features")
    rng = np.random.default_rng(1)
    np.save(tmp_path / "wide.npy", rng.normal(size=(8, 5)).astype(np.float32))
    np.save(tmp_path / "ints.npy", rng.integers(0, 9, size=(8, 4)))
    np.save(tmp_path / "x.npy", rng.normal(size=(8, 4)).astype(np.float32))
    np.save(tmp_path / "badlabels.npy", np.full(8, 7))
    return [
        ("not ONNX", [str(text), "--name", "a"], [str(text), "not an ONNX file"]),
        ("truncated", [str(truncated), "--name", "a"], [str(truncated), "truncated"]),
        ("op the runtime can't run", [custom, "--name", "a"], ["custom.onnx", "'head'", "com.example:Fancy"]),
        ("unknown standard op", [unknown, "--name", "a"], ["unknown.onnx", "NoSuchOp"]),
        ("shape it can't fix", [symbolic, "--name", "a"], ["symbolic.onnx", "input 'x' dimension 1", "--input-shape"]),
        ("samples of wrong shape", [good, "--name", "a", "--samples", str(tmp_path / "wide.npy")], ["wide.npy", "shape [8, 5]"]),
        ("samples of wrong dtype", [good, "--name", "a", "--samples", str(tmp_path / "ints.npy")], ["ints.npy", "dtype int64"]),
        ("labels out of range", [good, "--name", "a", "--samples", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "badlabels.npy")], ["badlabels.npy", "expected 0..2"]),
        ("zoo name", [good, "--name", "keyword_spotter", "--force"], ["keyword_spotter", "zoo model"]),
        ("earlier import", [good, "--name", "tiny"], ["'tiny'", "already imported", "--force"]),
    ]  # fmt: skip


def test_bad_inputs_exit_2_name_the_file_and_leave_the_store_unchanged(store, tmp_path, capsys):
    assert (
        run(["models", "import", tiny_classifier(tmp_path / "first.onnx"), "--name", "tiny"], capsys)[0] == 0
    )
    before = snapshot(store)
    for case, args, expected in _cases(tmp_path):
        rc, err = run(["models", "import", *args], capsys)
        assert rc == 2, case
        assert "Traceback" not in err, case
        for text in expected:
            assert text in err, (case, text, err)
        assert snapshot(store) == before, case


def test_force_replaces_an_earlier_import(store, tmp_path, capsys):
    path = tiny_classifier(tmp_path / "m.onnx")
    assert run(["models", "import", path, "--name", "tiny"], capsys)[0] == 0
    np.save(tmp_path / "x.npy", np.ones((5, 4), np.float32))
    rc, _ = run(
        ["models", "import", path, "--name", "tiny", "--samples", str(tmp_path / "x.npy"), "--force"], capsys
    )
    assert rc == 0
    assert (store / "tiny" / "samples.npy").exists()
    assert [p.name for p in store.iterdir()] == ["tiny"]  # no half-written or replaced folder left


def test_graph_recipes_only_for_an_onnx_import(store, tmp_path, capsys):
    assert run(["models", "import", tiny_classifier(tmp_path / "m.onnx"), "--name", "tiny"], capsys)[0] == 0
    rc, err = run(["compress", "tiny", "--recipe", "pruned"], capsys)
    assert rc == 2 and "imported graph" in err and "dynamic" in err
    rc, err = run(["compress", "tiny", "--recipe", "ptq-minmax"], capsys)
    assert rc == 2 and "without --samples" in err
    rc, _ = run(["compress", "tiny", "--recipe", "dynamic", "--device", "speaker", "--json"], capsys)
    assert rc == 0
