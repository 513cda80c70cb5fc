"""Deciding that the documents do not answer: checks that each name what is missing.

A confident wrong answer is the worst thing this bot can do, and the embedding model
cannot tell on its own: an unanswerable Chinese question scores a cosine of 0.82 to
0.87 with its nearest passage, inside the range of answerable ones. So the decision
rests on checks that each say the documents lack what the question asks about, and
each becomes the reason shown to the user:

1. **A figure of the question never occurs in the documents** (``2019年``): the
   question is about a year or amount the documents do not cover.
2. **A name never occurs in them**: a place, person or organisation (``陕西省``), or
   a foreign-script term in a Chinese question (``GDP``).
3. **Nothing of the kind asked for is tied to what is asked about.** A question that
   wants a figure, a time, a name or a list (:mod:`qa.answer.query`) is answered only by a
   span of that kind, in the asked unit, in a clause that carries the question's focus
   (:mod:`qa.answer.spans`). This is what catches near misses, the questions that share the
   article's words but ask for a fact it never states: a count of companies (家) where
   the sentence counts industrial chains (条), people affected where it counts people
   evacuated, a number of cases where it gives a resolution rate.
4. **A qualifier of the question is missing from the answer**: the question asks for
   the highest (最高), the per-capita (人均) or a national (全国) figure and the clause
   gives the average, the total, the province's. A scope the documents never use at all
   (全国, in documents that speak of 全省 and 我省 throughout) is missing too.
5. **The question has no topic of its own** (那去年呢？, 它增长了多少？, 为什么？): a
   follow-up asked without its conversation is not answered blind (:mod:`qa.answer.followup`
   resolves it when the conversation is given).

How the checks weigh against the reader's own confidence is decided in one place,
:func:`qa.answer.policy.decide`.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace


from ..index import lexical
from ..text import words
from .sentences import EN_STOP, content_tokens
from .query import SCOPES, Query, cjk_share

_WANT_LABEL = {"amount": ("数量", "an amount"), "count": ("数目", "a count"), "percent": ("比例", "a percentage"),
               "ordinal": ("次序", "an ordinal"), "time": ("时间", "a time"), "place": ("地点", "a place"),
               "person": ("人名或职务", "a person"), "org": ("机构名称", "an organisation"),
               "list": ("列举的各项", "a list of items"), "author": ("作者署名", "a byline naming the author")}


#: Words that end the name of an entity: what comes before them names a project, a company, a school …
ENTITY_HEADS = ("项目", "工程", "公司", "集团", "银行", "医院", "大学", "学院", "中学", "小学", "研究院", "研究所",
                "合作社", "基金会", "协会", "计划", "产品", "品牌", "小区", "园区")
#: Parts of speech that end a name's run of words backwards (particles, pronouns, numerals, adverbs …).
_NOT_IN_NAMES = ("u", "p", "c", "r", "m", "x", "d", "y", "e", "q", "f")
_NOT_NAME_WORDS = {"请问", "关于", "这个", "那个", "我们", "你们", "什么", "哪个", "哪些", "是否", "是"}
#: Names that differ only in a generic ending are one name (隋国 and 隋朝, 山西省 and 山西).
_ENDINGS = ("国朝代", "省市县区州")


def _variant_present(name: str, contains) -> bool:
    """Whether the documents use ``name`` with another generic ending of its kind (隋朝 for 隋国)."""
    for family in _ENDINGS:
        if len(name) >= 2 and name[-1] in family:
            return any(contains(name[:-1] + other) for other in family if other != name[-1])
    return False


def entity_words(question: str) -> list[str]:
    """The words that name an entity in ``question``: those of a quoted title (《三体》, “枫桥经验”) and the
    run of nouns before an entity head (青松 and 道路 in 青松道路硬化项目)."""
    text = unicodedata.normalize("NFKC", question)
    toks = words.cut(text)
    out: list[str] = []
    for i, (w, _) in enumerate(toks):
        if w in ENTITY_HEADS or any(w.endswith(h) and len(w) > len(h) for h in ENTITY_HEADS):
            j = i - 1
            while j >= 0 and not toks[j][1].startswith(_NOT_IN_NAMES) and toks[j][0] not in _NOT_NAME_WORDS:
                j -= 1
            out += [t for t, _ in toks[j + 1:i]]
    for m in re.finditer(r"《([^《》]{2,40})》|“([^“”]{2,20})”|「([^「」]{2,20})」", text):
        out += [t for t, _ in words.cut(next(g for g in m.groups() if g))]
    return [w for w in dict.fromkeys(out) if len(w) >= 2 and w not in ENTITY_HEADS and w not in _NOT_NAME_WORDS]


def absent_names(question: str, contains) -> list[str]:
    """Names the documents never use: places, people and organisations, the words that name a project,
    a company or a quoted title (``entity_words``) and, in a Chinese question, foreign-script terms such
    as ``GDP``. A name the documents use with another generic ending (隋朝 for 隋国) is there.

    ``contains``: a callable telling whether a phrase occurs in the documents (or their text).
    """
    if isinstance(contains, str):
        corpus = lexical.normalize(contains)
        contains = corpus.__contains__
    chinese = cjk_share(question) >= 0.5
    named = set(entity_words(question)) if chinese else set()
    out = []
    for w, flag in words.cut(unicodedata.normalize("NFKC", question)):
        if len(w) < 2 or w in out:
            continue
        if (flag[:2] in ("ns", "nr", "nt") or w in named or (chinese and flag == "eng" and w.lower() not in EN_STOP)) \
                and not contains(lexical.normalize(w)):
            if len(w) >= 4 and flag != "eng" and contains(w[:2]) and contains(w[2:]):
                continue  # a compound of words the documents use (重大 + 意义) tagged as a name by mistake
            if _variant_present(w, contains):
                continue
            out.append(w)
    return out


#: One qualifier, several spellings: 年均 is 年平均 written short, and an average per year or day is an average.
_SAME_QUALIFIER = {"平均": ("平均", "年均", "日均", "月均", "均值"), "年均": ("年均", "年平均"), "日均": ("日均", "日平均"),
                   "月均": ("月均", "月平均")}


def missing_qualifiers(query: Query, passage: str, clause: str | None = None) -> list[str]:
    """Qualifiers of the question (最高, 人均, 第一批, 全国 …) that the answer lacks: the clause of the
    short answer when there is one (``年均`` elsewhere in the sentence qualifies another figure),
    else the passage.

    A scope word (全国, 全省 …) counts as missing only when the passage speaks of another
    scope: most passages about the province never say 全省.
    """
    text = lexical.normalize(clause if clause else passage)
    whole = lexical.normalize(passage)
    out = [w for w in query.qualifiers if not any(v in text for v in _SAME_QUALIFIER.get(w, (w,)))]
    for w in SCOPES:
        if w in query.text and w not in whole and any(o in whole for o in other_scopes(w)):
            out.append(w)
    return out


#: Words that name the same scope as a scope word (全省 and 我省 are one province).
_SAME_SCOPE = {"全省": ("我省", "本省"), "全国": ("我国",), "全市": ("我市", "本市")}


def other_scopes(w: str) -> list[str]:
    """The scope words that speak of a scope other than ``w``'s (for 全国: 全省, 我省, 全市 …)."""
    return [o for o in SCOPES + ("我省", "本省", "我市", "本市", "我国") if o != w and o not in _SAME_SCOPE.get(w, ())]


def absent_scopes(query: Query, contains) -> list[str]:
    """Scope words of the question (全国) that the documents never use while they use another (全省, 我省):
    the documents speak of another scope throughout, so a figure of theirs answers something else.
    ``contains`` as in :func:`absent_names`."""
    asked = [w for w in SCOPES if w in query.text]
    if not asked:
        return []
    if isinstance(contains, str):
        contains = lexical.normalize(contains).__contains__
    return [w for w in asked if not contains(w) and any(contains(o) for o in other_scopes(w))]


@dataclass
class Signals:
    """What ``ask()`` measures to decide whether the documents answer."""

    content_coverage: float  # share of the question's content tokens found anywhere in the documents
    absent_names: list[str]  # names of the question the documents never use (陕西省, GDP)
    missing_figures: list[str]  # figures of the question the documents never use (2019年)
    want: str | None = None  # the kind of answer asked for (qa.answer.query)
    span: str | None = None  # the short answer found, when one of the wanted kind is tied to the focus
    untied: bool = False  # the question wants a checkable kind and no span of it is tied to its focus
    focus: list[str] = field(default_factory=list)
    missing_qualifiers: list[str] = field(default_factory=list)  # 最高, 人均, 全国 … absent from the passage
    incomplete: str | None = None  # the question has no topic of its own (a follow-up)
    reader_margin: float | None = None  # how far the reader's span beats its "no answer" (None: no reader)
    typed_checks: list[str] = field(default_factory=list)  # with the reader: checks 3-4 failed by the rules' span
    english: bool = False  # the question is not Chinese (the reader was trained on Chinese questions)
    wrong_kind: bool = False  # the reader's span is not of the kind asked for (qa.answer.typed)
    ruled: bool = False  # the short answer is the rules' span, not the reader's
    top_score: float | None = None  # the dense similarity of the question to the top passage


def signals(query: Query, lex: lexical.LexicalIndex, contains, passage: str, span,
            reader_margin: float | None = None) -> Signals:
    """Measure the no-answer signals for one question.

    ``contains``: tells whether a phrase occurs in the documents; ``passage``: the top passage's
    text; ``span``: the :class:`qa.answer.spans.Short` found in it (or None).
    """
    return on_span(measure(query, lex, contains), query, passage, span, reader_margin)


def measure(query: Query, lex: lexical.LexicalIndex, contains) -> Signals:
    """The signals of the question itself, whatever span answers it (``on_span`` adds the span's)."""
    question = query.text
    content = content_tokens(question)
    figures = list(dict.fromkeys(lexical.figures(question)))
    known = lex.lookup(content + figures)
    return Signals(
        content_coverage=sum(t in known for t in content) / len(content) if content else 0.0,
        absent_names=absent_names(question, contains),
        missing_figures=[f for f in figures if f not in known],
        want=query.want,
        focus=list(query.focus),
        missing_qualifiers=absent_scopes(query, contains),  # the span's missing qualifiers go first (on_span)
        incomplete=query.incomplete,
    )


def on_span(base: Signals, query: Query, passage: str, span, reader_margin: float | None = None) -> Signals:
    """``base`` (from ``measure``) with what the answer ``span`` (or None) adds: whether it is of the kind
    asked and tied to the question, and the qualifiers its clause (or the passage) lacks."""
    tied = span is not None and span.tied
    return replace(base, span=span.text if tied else None, untied=untied(query, span),
                   missing_qualifiers=list(dict.fromkeys(missing_qualifiers(query, passage, span.context if tied else None)
                                                         + base.missing_qualifiers)),
                   reader_margin=reader_margin, focus=list(base.focus))


#: What the soft score reads; the hard checks are the rest (see :func:`failed_checks`). It orders questions
#: only where the reader is not in use (``QA_READER=0``, questions about the author): see :class:`ReaderPolicy`.
SOFT_FEATURES = ("content_coverage",)


def failed_checks(s: Signals) -> list[str]:
    """The checks a question fails, as reasons: each means the documents lack what it asks about."""
    return hard_checks(s) + typed_checks(s)


def hard_checks(s: Signals) -> list[str]:
    """Checks 1, 2, 4 and 5: the documents never use a figure or a name of the question, the answer lacks a
    qualifier it asks for (最高, 全国), or it has no topic."""
    return [note for notes in checks_by_kind(s).values() for note in notes]


def checks_by_kind(s: Signals) -> dict[str, list[str]]:
    """The hard checks' notes by check: topic, figures, names, qualifiers, kinds (empty: passed)."""
    out = {"topic": [], "figures": [], "names": [], "qualifiers": [], "kinds": []}
    if s.incomplete:
        out["topic"].append("这个问题缺少主题，像是接着上文问的：请把问题写完整，例如“2021年山西煤炭产量是多少？”"
                            "(the question has no topic of its own; ask a complete question)")
    if s.missing_figures:
        out["figures"].append(f"文中没有出现问题里的数字 {'、'.join(s.missing_figures)} "
                              f"(the document never mentions {', '.join(s.missing_figures)})")
    if s.absent_names:
        out["names"].append(f"文中没有出现问题里的名称 {'、'.join(s.absent_names)} "
                            f"(the document never mentions {', '.join(s.absent_names)})")
    if s.missing_qualifiers:
        q = "”“".join(s.missing_qualifiers)
        out["qualifiers"].append(f"文中没有提到“{q}”(the passage does not give the {', '.join(s.missing_qualifiers)} "
                                 f"figure)")
    if s.wrong_kind:
        cn, en = _WANT_LABEL.get(s.want or "", ("所问的信息", "what is asked"))
        out["kinds"].append(f"最相关的段落里读到的答案不是所问的{cn} (the span read in the passage is not {en})")
    return out


def untied(query: Query, span) -> bool:
    """Whether the question wants a checkable kind and ``span`` is not one tied to its focus."""
    return bool(query.typed and (span is None or not span.tied))


def typed_checks(s: Signals) -> list[str]:
    """Check 3: nothing of the kind asked is tied to the question."""
    return _typed_note(s.untied and not s.incomplete, s.want, s.focus)


def typed_checks_for(query: Query, span) -> list[str]:
    """Check 3 judged on ``span`` (the rules' short answer), without measuring the other signals."""
    return _typed_note(untied(query, span) and not query.incomplete, query.want, query.focus)


def _typed_note(failed: bool, want: str | None, focus) -> list[str]:
    if not failed:
        return []
    cn, en = _WANT_LABEL.get(want or "", ("所问的信息", "what is asked"))
    about = f"与“{'、'.join(focus[:2])}”相关的" if focus else ""
    return [f"最相关的段落里没有{about}{cn} (the passage holds no {en} tied to what is asked)"]
