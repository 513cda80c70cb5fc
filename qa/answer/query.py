"""What a question asks for: the kind of answer, its unit, its focus, and the words around the gap.

Both the short answer (:mod:`qa.answer.spans`) and the no-answer decision (:mod:`qa.answer.noanswer`)
start from the same reading of the question:

* ``want``: the kind of answer, from the question word. 多少/几 + a measure word asks
  for a count (``几起`` -> ``起``) or an amount (``多少亿吨``), a rate noun (比例, 占比,
  …率) for a percentage, 第几 for an ordinal, 哪一年/什么时候 for a time, 哪里/哪个城市
  for a place, 谁 for a person, 谁写的/作者 for the author (whom a byline names), 哪些/哪几
  for a list, 什么/哪个 for a phrase (also after a verb ending in 为: 列为什么 asks "as what"); 为什么/
  怎么/如何 want no short span (``how``: the sentence is the answer); with the reader, any other
  question gets the reader's span, a yes-no one too (修好了没？ 57463户 settles it).
  English question words map onto the same kinds.
* ``unit``: the measure word the question asks in, when it names one. A span in another
  unit (``10条`` for ``多少家``) does not answer it: that is how a question about
  companies is told from a sentence about industrial chains.
* ``focus``: the content words nearest the question word, i.e. the thing counted or
  measured (``死亡事故`` in ``发生了几起死亡事故``). A span answers only when the clause it
  sits in carries the focus.
* ``qualifiers``: words that change what is measured (最高 vs 平均, 全国 vs 全省). The
  article may state the average and not the maximum; a sentence without the
  qualifier does not answer.
* ``left``/``right``: the question's text on each side of the question word, which
  :mod:`qa.answer.spans` aligns with the answer sentence to cut out the phrase that fills the gap.
* ``incomplete``: a follow-up that has no topic of its own (那去年呢？, 它增长了多少？,
  为什么？): it cannot be answered without the conversation (:mod:`qa.answer.followup`).

Everything here is a closed class of Chinese (or English) function words and patterns;
nothing names a topic of the article.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..text import words

# -- question words --------------------------------------------------------------------------------
_CN_NUM = "零〇一二两三四五六七八九十百千"
#: Measure words a 多少/几 question may ask in (longest first).
UNITS = sorted(set("""亿千瓦时 万千瓦时 千瓦时 亿千瓦 万千瓦 千瓦 微克/立方米 立方米 平方公里 平方米 公里 千米 米 公顷 亿吨 万吨 吨
亿元 万元 元 万人次 人次 万人 人 万户 户 万件 件 万亩 亩 万辆 辆 个百分点 百分点 起 条 家 个 项 名 次 座 所 种 批 场 天 年 倍
位 部 处 篇 届 岁 只 台 套 宗 例 艘 架 枚 张 份 支 级 期 轮 周 月 册 本
世纪 小时 分钟 秒 毫米 厘米 公分 公尺 公斤 千克 克 英里 英尺 英寸 英亩 平方千米 平方英里 度 摄氏度
亿美元 万美元 美元 欧元 英镑 日元 港元""".split()), key=len, reverse=True)
#: 本 counts books (五本) but also opens 本地, 本市, 本届…: it is a measure word only before none of those.
_UNIT_GUARD = {"本": "(?![地市省区县土科届次年月周身部级轮期职])"}
#: The measure words as one regular expression (with their guards).
UNIT_RE = "|".join(re.escape(u) + _UNIT_GUARD.get(u, "") for u in UNITS)
#: Nouns that imply a count of people when asked with 多少 and no measure word.
_PEOPLE = ("群众", "人员", "人口", "干部", "党员", "职工", "学生", "居民", "农民", "游客", "员工", "代表", "人")
_RATE_NOUN = re.compile(r"(比例|占比|比重|百分比|份额|覆盖率|\w{0,4}率)$")
#: 为什么 asks why, except where 为 ends a verb (列为, 转变为, 定为, 作为…什么: "as what").
_HOW = re.compile(r"(?<![作成认因以称视行列变改转定选评升划分命誉奉封归化])为什么|为何|为啥|怎么样|怎样|怎么|如何|咋样|咋")
_YESNO = re.compile(r"是不是|有没有|是否|能否|会不会|要不要|[吗么嘛][？?！!。\s]*$|没[？?]?\s*$")
_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("ordinal", re.compile(r"第几[次个批届位名季度]*")),
    ("time", re.compile(r"哪一年|哪年|哪一天|哪天|哪个月|几月份?|几号|什么时候|什么时间点?|何时|啥时候|多会儿|哪个时候")),
    ("place", re.compile(r"在哪[里儿个]?|哪里|哪儿|哪个(?:城市|地方|省份?|市|县|区|机场|国家)|哪座城市|什么地方|哪个地区|何地|何处")),
    ("name", re.compile(r"叫什么名字|什么名字|名字是什么|姓什么|姓名")),
    ("person", re.compile(r"是谁|谁|哪位|什么人|什么身份|啥身份|什么职务|什么职位")),
    ("org", re.compile(r"哪家|哪个部门|哪个单位|哪个机构|什么机构|什么部门|什么单位")),
    ("list", re.compile(r"有哪些|哪些|哪几[个项种条类部方面大]*|哪[二两三四五六七八九十]+[个项种条类部方面大件]*|包括什么")),
    ("number", re.compile(r"多少|多大|多高|多长|多重|(?<![这那好前近])几(?=[个条项起次人名家座件种倍年天户批场处所位届成])|"
                          r"百分之几|几成|(?<![这那好前近])几(?!乎)|多不多|高不高|大不大|多吗|高吗")),
    ("phrase", re.compile(r"(?:怎样|怎么样|什么样|如何|咋样)的(?=[\u4e00-\u9fff])|什么|啥|哪一?[个条项种部篇份类方面]?|何种")),
]
_EN_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("percent", re.compile(r"\bwhat (?:percentage|share|proportion|rate|ratio|fraction)\b|\bby what percentage\b|"
                           r"\bhow (?:high|large|big) (?:a |was the |is the )?(?:share|proportion|rate|percentage)\b|"
                           r"\bwhat (?:was|is|were|are) the (?:[\w-]+ ){0,3}(?:rate|ratio|share|proportion|percentage)\b",
                           re.I)),
    ("number", re.compile(r"\bhow (?:many|much|high|large|big|long|far)\b|\bwhat (?:(?:was|is|were|are) the )?"
                          r"(?:[\w-]+ )?(?:number|amount|quantity|total|volume|level|concentration|output|capacity)\b|"
                          r"\bnumber of\b", re.I)),
    ("time", re.compile(r"\bwhen\b|\bwhat (?:year|date|time|month)\b|\bwhich (?:year|date|month)\b", re.I)),
    ("place", re.compile(r"\bwhere\b|\bwhich (?:cit(?:y|ies)|provinces?|count(?:y|ies)|places?|regions?|"
                         r"countr(?:y|ies))\b", re.I)),
    ("name", re.compile(r"\bwhat (?:is|was) (?:the|his|her) name\b|\bname of\b|\bwhat is \w+ called\b", re.I)),
    ("person", re.compile(r"\bwho(?:se|m)?\b|\b(?:position|title|post|office|job)\b", re.I)),
    ("list", re.compile(r"\bwhat are\b|\bwhich (?:\w+ )?(?:areas|kinds|types|sectors|fields|items|ones)\b|"
                        r"\bwhat (?:\w+ )?(?:areas|kinds|types|sectors|fields|measures|industries)\b|"
                        r"\b(?:two|three|four|five|six|seven|eight|nine|ten)\b", re.I)),
    ("phrase", re.compile(r"\bwhat\b|\bwhich\b", re.I)),
]
#: A question about who wrote the document (谁写的, 作者是谁, 写这篇文章的人是干啥的, who wrote): a byline answers
#: it, whatever the question's other words (身份, 干啥的), since the byline is the document's word on its author.
_AUTHOR = re.compile(r"谁写的|是谁写|(?:哪位|哪个|什么)[\u4e00-\u9fff]{0,4}?(?:写的|撰写的|执笔的)|谁(?:撰写|执笔|所写|写了)|"
                     r"出自谁|作者(?:是|为)?(?:谁|哪位|什么人|何人)|"
                     r"作者(?:的|是|叫)?(?:什么|啥)?(?:身份|职务|职位|名字|姓名)|作者叫(?:什么|啥)|作者是(?:干|做)|"
                     r"写(?:了)?(?:这|本|此|该)(?:篇|份|本)?(?:文章|文|稿子|报告|材料|书)?的(?:人|是谁|作者)")
_EN_AUTHOR = re.compile(r"\bwho (?:wrote|authored|is the author|was the author|is the writer)\b|"
                        r"\bwritten by (?:whom|who)\b|"
                        r"\bauthor(?:'s)? (?:name|position|title|job|identity|post)\b", re.I)
#: Words of a question about who wrote the document, however it asks (the author's position, his name).
_AUTHORSHIP = re.compile(r"作者|谁写|撰写|执笔|署名|\bauthor|\bwrote\b|\bwriter|\bwritten\b", re.I)


def about_authorship(text: str) -> bool:
    """Whether ``text`` asks about who wrote the document (作者是谁, the author's position): a byline
    answers such a question and no other."""
    return bool(_AUTHORSHIP.search(text))


_EN_HOW = re.compile(r"^\s*(?:why|how)\b(?! (?:many|much|high|large|big|long|far)\b)", re.I)
#: English nouns of the things counted, and the measure word each is counted in.
EN_UNITS = [("人", re.compile(r"\bpeople|persons|residents|deaths?|died|killed|injur|evacuat|relocat", re.I)),
             ("起", re.compile(r"\baccidents|incidents\b", re.I)),
             ("户", re.compile(r"\bhouseholds|homes|houses\b", re.I)),
             ("条", re.compile(r"\bchains|lines|routes\b", re.I)),
             ("年", re.compile(r"\byears\b", re.I)),
             ("家", re.compile(r"\bcompanies|enterprises|firms|banks\b", re.I)),
             ("公里", re.compile(r"\bkilomet(?:er|re)s?|\bkm\b", re.I)),
             ("吨", re.compile(r"\bton(?:ne)?s\b", re.I)),
             ("元", re.compile(r"\byuan|\brmb\b|\bmoney|\bcost|\bspend|\bspent|\binvest", re.I)),
             ("个百分点", re.compile(r"\bpercentage points?\b", re.I)),
             ("座", re.compile(r"\bmines|plants|stations|bridges|dams|reservoirs\b", re.I)),
             ("所", re.compile(r"\bschools|universities|hospitals\b", re.I))]
_EN_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}

#: Words that change what is measured: a sentence that lacks them does not answer.
QUALIFIERS = ("峰值", "平均", "人均", "年均", "日均", "月均", "户均", "累计", "直接", "间接", "新增", "净增", "每年",
              "每月", "每天", "目标", "计划", "预计", "预期", "规划", "上年", "去年同期")
_PLAN_WORDS = ("目标", "计划", "预计", "预期", "规划")
#: Superlatives (最严重), ordinals (第一批), negated kinds (非煤 in 非煤矿山) and "every kind of" (各行业)
#: qualify what is asked just as much.
_ORDINAL_QUALIFIER = re.compile(r"最[\u4e00-\u9fff]{1,2}?(?=的|[？?，,]|$|[\u4e00-\u9fff])|第[一二三四五六七八九十两\d]+[次批届个轮期]|"
                                r"非[\u4e00-\u9fff]|各(?:行业|行各业|类|级|地|市|县|省|部门|领域)")
#: A comparison with the year before (比上年, 跟上一年比, 与前一年相比, 较去年同期): the documents write it 同比 or
#: 比上年 or not at all (增长10.5%), so it frames the question and is neither its focus nor a qualifier.
_VS_LAST_YEAR = re.compile(r"(?:比|较|跟|和|与|同)(?:上一?年度?|前一年|去年|上年度)(?:同期)?(?:相比较?|比较|来比|比)?"
                           r"|(?:同比|环比)")
#: Scope words: a sentence about another scope (全省 for a question about 全国) answers something else.
SCOPES = ("全国", "全省", "全市", "全县", "全球", "全世界")

# -- follow-ups without a topic ----------------------------------------------------------------------
_PRONOUN_START = re.compile(r"^(?:那么?|那这|还有|然后)?(?:它们|它|其|该|此|这些|那些|这个|那个|这项|那项|这一|这种|那种|"
                            r"这样|这事|这件事|他们|她们|他|她|上述|前者|后者)(?!篇|本|份文|文章)")
_ELLIPTIC = re.compile(r"^(?:那么?|那|还有|然后)[^，。？！?!]{0,12}呢[？?！!。\s]*$|^[^，。？！?!]{1,6}呢[？?！!。\s]*$")
_BARE = re.compile(r"^(?:那么?|那|还有|然后|所以|请问)?(?:为什么|为啥|为何|怎么回事|怎么做的?|如何做到的?|具体(?:有|是|包括)?(?:哪些|什么)|"
                   r"有哪些|都有哪些|还有(?:哪些|吗|呢|什么)?|然后呢|详细(?:说说|讲讲|点)|展开(?:说说|讲讲)|能具体说说吗?|"
                   r"举个例子|比如呢|怎么说|结果呢|后来呢|什么意思|啥意思|是什么意思)[？?！!。\s]*$")
_EN_FOLLOWUP = re.compile(r"^\s*(?:and|what about|how about)\b.{0,30}\??\s*$|^\s*(?:why|how)\s*\??\s*$|"
                          r"^\s*(?:it|its|they|this|that|these|those)\b", re.I)

_STOP_WORDS = set("的 了 是 在 吗 呢 吧 啊 么 嘛 呀 有 没 和 与 及 或 也 都 就 还 又 被 把 对 从 到 向 给 让 于 以 其 这 那 些 个 不 "
                  "请问 一下 一共 总共 共 到底 具体 究竟 大概 大约 目前 现在 现 那个 这个 那些 这些 我们 你们 他们 我省 全省 本省 我市 全市 本市 我国 全国 "
                  "我 你 他 她 它 文章 文中 文 提到 里面 这篇 作者 说 讲 啥 咋 了解 知道 告诉 同比 环比 比上年 较上年".split())
_CONTENT_POS = ("n", "v", "a", "vn", "an", "nz", "ns", "nr", "nt", "i", "l", "j", "eng", "b", "s", "f")

#: The wants that ask for a figure or a time.
FIGURES_AND_TIMES = ("amount", "count", "percent", "ordinal", "time")


#: The wants of a checkable kind (a number, a time, a name, a list).
TYPED_WANTS = ("amount", "percent", "count", "ordinal", "time", "place", "person", "name", "org", "list", "author")


class _Draft:
    """A :class:`Query` while ``analyse`` reads the question (the fields of a Query, settable)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    @property
    def typed(self) -> bool:
        return self.want in TYPED_WANTS


@dataclass(frozen=True)
class Query:
    """How a question reads: see the module docstring. Frozen: a stage that needs another reading makes
    one (``dataclasses.replace``), so no stage changes the question under another's feet."""

    text: str
    english: bool
    want: str | None  # amount|percent|count|ordinal|time|place|person|org|list|author|phrase|how|None
    unit: str | None = None
    wh: tuple[int, int] | None = None
    left: str = ""
    right: str = ""
    n_items: int | None = None
    several: bool = False
    qualifiers: list[str] = field(default_factory=list)
    focus: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    incomplete: str | None = None  # why the question cannot stand alone, or None

    @property
    def typed(self) -> bool:
        """Whether the question asks for a span of a checkable kind (a number, a time, a name, a list)."""
        return self.want in TYPED_WANTS


def about_the_document(text: str) -> bool:
    """Whether ``text`` asks about the document itself (这篇文章是谁写的, 本文讲了什么, who wrote this): it is
    complete however short, since the document is its topic."""
    t = text.strip()
    return bool(_AUTHOR.search(t) or _EN_AUTHOR.search(t) or re.match(r"(?:请问)?(?:这篇|本篇|该篇|此篇)(?:文章|文)|本文", t))


def cjk_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum("\u3400" <= c <= "\u9fff" for c in letters) / len(letters) if letters else 0.0


#: Where a clause ends: a comma, a colon or a sentence end, in either width.
CLAUSE_MARKS = "，,。；;！？?!：:"
#: Where a sentence ends (the clause marks without the comma and the colon).
SENTENCE_MARKS = "。；;！？?!"


def clause_start(text: str, a: int, marks: str = CLAUSE_MARKS) -> int:
    """Where the clause (or, with other ``marks``, the stretch) holding ``text[a]`` begins."""
    return max((text.rfind(p, 0, a) for p in marks), default=-1) + 1


def clause_end(text: str, b: int, marks: str = CLAUSE_MARKS) -> int:
    """Where the clause holding ``text[b - 1]`` ends (the mark itself not included)."""
    his = [i for i in (text.find(p, b) for p in marks) if i >= 0]
    return min(his) if his else len(text)


def clause_bounds(text: str, a: int, b: int, marks: str = CLAUSE_MARKS) -> tuple[int, int]:
    """The clause around ``text[a:b]``, from the previous mark to the next one."""
    return clause_start(text, a, marks), clause_end(text, b, marks)


def _clause_bounds(text: str, a: int, b: int) -> tuple[int, int]:
    return clause_bounds(text, a, b, "，,。；;！？?!：")  # the question's own clause: an ASCII colon does not end it


#: What is measured in money: 多少资金, 投入了多少钱, 地区生产总值是多少 ask for an amount in 元.
MONEY = re.compile(r"(?:资金|经费|钱|费用|投资|投入资金|金额|补贴|补助|奖金|工资|收入|营收|产值|生产总值|GDP|税收|财政收入|利润|"
                   r"损失|成本|预算|贷款|存款)$", re.I)


def _unit_after(text: str) -> tuple[str | None, str]:
    """The measure word right after a 多少/几 (``万人`` -> ``人``), and what follows it."""
    if re.match(r"(万|亿|千|百)?(块)?钱", text):
        return "元", text  # 多少钱: money
    noun = re.match(r"(?:的)?([\u4e00-\u9fffA-Za-z]{1,6}?)(?=[？?，,。！!]|$|呢|呀|啊|吗)", text)
    if noun and MONEY.search(noun.group(1)):
        return "元", text  # 多少资金: money
    m = re.match(r"(万|亿|千|百)?(" + UNIT_RE + ")(?!额)", text)  # 份额 is a share, not a count of 份
    if not m:
        for noun in _PEOPLE:
            if text.startswith(noun):
                return "人", text
        return None, text
    unit = m.group(2)
    rest = text[m.end():]
    if unit in ("个", "位", "名") and rest[:1] == "人":
        unit = "人"
    elif unit == "个":
        for noun in _PEOPLE:
            if rest.startswith(noun):
                return "人", rest
    return unit, rest


def _content_words(text: str) -> list[tuple[str, str, int]]:
    """(word, POS, start) of the content words of ``text``."""
    out, pos = [], 0
    cut = words.cut(text)
    merged: list[tuple[str, str]] = []
    for w, flag in cut:  # PM2 + .5 -> PM2.5
        if merged and merged[-1][1] == "eng" and flag == "m" and w.startswith("."):
            merged[-1] = (merged[-1][0] + w, "eng")
        else:
            merged.append((w, flag))
    for w, flag in merged:
        start = text.find(w, pos)
        pos = start + len(w) if start >= 0 else pos
        if w in _STOP_WORDS or not flag.startswith(_CONTENT_POS) or flag.startswith("nrfg"):
            continue
        if len(w) == 1 and flag not in ("v", "n", "a"):
            continue
        out.append((w, flag, start))
    return out


def incomplete_reason(text: str) -> str | None:
    """Why a question cannot stand alone (a follow-up with no topic of its own), or None."""
    t = text.strip()
    if not t:
        return None
    if cjk_share(t) < 0.5:
        return "follow-up" if _EN_FOLLOWUP.search(t) and len(t.split()) <= 6 else None
    if _BARE.match(t):
        return "bare"
    if _ELLIPTIC.match(t):
        return "elliptic"
    m = _PRONOUN_START.match(t)
    if m:
        return "pronoun"
    return None


def analyse(question: str) -> Query:
    """Read ``question`` (already cleaned): see the module docstring."""
    text = question.strip()
    english = cjk_share(text) < 0.5
    q = _Draft(text=text, english=english, want=None, unit=None, wh=None, left="", right="", n_items=None,
               several=False, qualifiers=[], focus=[], content=[], incomplete=incomplete_reason(text))
    # the comparison frame is blanked out (same length, so offsets hold) before qualifiers and words are read
    framed = _VS_LAST_YEAR.sub(lambda m: " " * len(m.group()), text) if not english else text
    q.qualifiers = [w for w in QUALIFIERS if w in framed] + [_whole_superlative(framed, m)
                                                             for m in _ORDINAL_QUALIFIER.finditer(framed)
                                                             if not m.group().startswith("非") or
                                                             _starts_word(framed, m.start())]
    if english:
        _analyse_english(q)
        return Query(**vars(q))
    content = _content_words(framed)
    q.content = [w for w, _, _ in content]
    found = None
    how = _HOW.search(text)
    author = _AUTHOR.search(text)
    if author:
        found = ("author", author)
    for kind, pat in _PATTERNS if found is None else ():
        for m in pat.finditer(text):
            if how and how.start() <= m.start() < how.end() and not m.group().endswith("的"):
                continue  # 什么 inside 为什么
            found = (kind, m)
            break
        if found:
            break
    if found is not None and how and found[0] == "phrase" and not found[1].group().endswith("的"):
        found = None  # 为什么/怎么 … 什么: the question asks why or how (怎样的+noun asks what kind of)
    if found is None:
        q.want = "how" if _HOW.search(text) else None
        m = _HOW.search(text)
        if m:
            q.wh = m.span()
    else:
        kind, m = found
        q.wh = m.span()
        after = text[m.end():]
        if kind == "number":
            unit, _ = _unit_after(after)
            if unit is None and m.group().startswith("几") and len(m.group()) > 1:
                unit, _ = _unit_after(m.group()[1:])
            before_wh = re.sub(r"(是|为|达|达到|有|约|大约|共|一共|总共|了|到|到了|的)+$", "", text[:m.start()])
            if unit is None and MONEY.search(before_wh):
                unit = "元"  # 生产总值是多少, 损失了多少: money
            counted = re.search(r"(人|户|件|起|家|次|个|所|座|名)数$|(人)口$", before_wh) if unit is None else None
            if counted:
                unit = counted.group(1) or counted.group(2)  # 死亡人数是多少: a count of people
            q.unit = unit
            before = re.sub(r"(是|为|达|达到|有|约|大约|共|一共|总共|了|到|到了)+$", "", text[:m.start()])
            if m.group() in ("百分之几", "几成") or _RATE_NOUN.search(before) or before.endswith("百分之") or \
                    unit in ("个百分点", "百分点") or \
                    re.match(r"(?:的)?(?:比例|比重|占比|百分比|份额)", after):
                q.want = "percent"
            elif unit in (None,) and re.search(r"(浓度|产量|电量|总量|规模|面积|长度|金额|收入|投资|损失|容量|用量|排放量)$", before):
                q.want = "amount"
            elif unit and unit not in ("个", "次", "起", "人", "户", "件", "条", "家", "项", "名", "座", "所", "种", "批",
                                       "场", "位", "部", "处", "篇", "届", "只", "台", "套", "宗", "例", "艘", "架", "枚",
                                       "张", "份", "支", "册", "本", "人次", "万人", "万人次", "万户", "万件"):
                q.want = "amount"
            else:
                q.want = "count" if unit else "amount"
        elif kind == "list":
            q.want = "list"
            nm = re.search(rf"哪([{_CN_NUM}]+)", m.group())
            if nm:
                q.n_items = _cn_int(nm.group(1))
        else:
            q.want = kind
    if q.wh:
        lo, hi = _clause_bounds(text, *q.wh)
        q.left = text[lo:q.wh[0]]
        q.right = re.sub(r"[呢啊吗呀吧嘛了的？?！!。\s]+$", "", text[q.wh[1]:hi])
    q.several = bool(re.search(r"分别|各是|各为|各自", text)) or (q.want in ("amount", "count", "percent") and
                                                                bool(re.search(r"、|和|与|及", q.left)))
    q.focus = _focus(content, q)
    q.content = [w for w, f, _ in content if not f.startswith(("t", "m", "ns")) and (len(w) > 1 or f == "n")]
    if not q.typed:  # 最根本的考量, 想达到啥目标: superlatives and plans qualify figures, not phrases
        q.qualifiers = [w for w in q.qualifiers if not w.startswith("最") and w not in _PLAN_WORDS]
    return Query(**vars(q))


def _starts_word(text: str, i: int) -> bool:
    """Whether a word of the shared word cut starts at ``text[i]`` (非煤矿山: yes; 对东非施行: no, 非 ends 东非)."""
    at = 0
    for w, _ in words.cut(text):
        if at >= i:
            return at == i
        at += len(w)
    return False


def _whole_superlative(text: str, m: re.Match) -> str:
    """最 with the whole word it qualifies (最|严重 -> 最严重, not 最严); other qualifiers as matched."""
    if not m.group().startswith("最") or len(m.group()) != 2:
        return m.group()
    nxt = words.cut(text[m.start() + 1:m.start() + 5])
    if nxt and len(nxt[0][0]) == 2 and nxt[0][1].startswith(("a", "d")) and text.startswith(nxt[0][0], m.start() + 1):
        return "最" + nxt[0][0]
    return m.group()


def _cn_int(s: str) -> int | None:
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")}
    digits.update({"两": 2, "〇": 0})
    if s == "十":
        return 10
    if s.startswith("十") and len(s) == 2:
        return 10 + digits.get(s[1], 0)
    if len(s) == 1:
        return digits.get(s)
    if len(s) == 2 and s[1] == "十":
        return digits.get(s[0], 0) * 10
    if len(s) == 3 and s[1] == "十":
        return digits.get(s[0], 0) * 10 + digits.get(s[2], 0)
    return None


def _focus(content: list[tuple[str, str, int]], q: _Draft) -> list[str]:
    """The content words nearest the question word (within its clause), nearest first; times and
    the place the whole article is about are topic, not focus."""
    if not q.wh:
        return list(dict.fromkeys(w for w, f, _ in content if not f.startswith(("t", "m"))))[:8]
    lo, hi = _clause_bounds(q.text, *q.wh)
    near = [(min(abs(s - q.wh[0]), abs(s + len(w) - q.wh[1])), w) for w, f, s in content
            if lo <= s < hi and not f.startswith(("t", "m", "ns")) and not re.fullmatch(r"\d+年?|[今去前明]年", w)
            and w not in SCOPES and not re.fullmatch(r"全[省市县区国]|我省|本省", w)
            and w != q.unit and not q.wh[0] <= s < q.wh[1] and (len(w) > 1 or f == "n")]
    near.sort()
    return list(dict.fromkeys(w for _, w in near))[:8]


def _analyse_english(q: _Draft) -> None:
    t = q.text
    m = _EN_AUTHOR.search(t)
    if m:
        q.want, q.wh = "author", m.span()
        return
    if _EN_HOW.search(t):
        q.want = "how"
        return
    for kind, pat in _EN_PATTERNS:
        m = pat.search(t)
        if m:
            q.want, q.wh = kind, m.span()
            break
    if q.want == "number":
        q.want = "count" if re.search(r"\bhow many\b|\bnumber of\b|\bhow often\b", t, re.I) else "amount"
        for unit, pat in EN_UNITS:
            if pat.search(t[q.wh[1]:]):
                q.unit = unit
                if q.want == "amount" and unit in ("人", "户", "起", "条", "家"):
                    q.want = "count"
                break
    if q.want in ("count", "amount") and re.search(r"\bby how much\b|\bhow much (?:did|does|has|have|had|was|were)\b.*"
                                                  r"\b(?:fall|fell|drop|decline|decrease|rise|rose|grow|grew|increase)",
                                                  t, re.I):
        q.want, q.unit = "amount", None  # by how much did deaths fall: a change, often a percentage
    if q.want == "list":
        m = re.search(r"\b(two|three|four|five|six|seven|eight|nine|ten)\b", t, re.I)
        if m:
            q.n_items = _EN_NUMBERS[m.group(1).lower()]
    q.several = bool(re.search(r"\brespectively\b", t, re.I))
