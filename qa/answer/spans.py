"""The phrase rules' short answer: the span inside the answer sentence that answers (``11.9亿吨``, ``第三次``).

Since the trained reader (:mod:`qa.answer.reader`) gives the short answer, these rules step in only where the
reader is unsure (``ReaderPolicy.rules_below``), for bylines, for the typed no-answer checks, and as the
whole answer layer when the reader is off (``QA_READER=0``). They were written for the demo article:
out of domain the reader beats them (see the README).

A sentence answers a question; a user wants the few characters that do. The span is
chosen by what the question wants (:mod:`qa.answer.query`):

* **Figures** (多少/几/第几/比例, how many/much, what percentage): every figure of the
  sentence is a candidate — Arabic or Chinese numerals with their unit, ``%``, rates
  written bare after a 率 (``死亡率0.009``), ordinals. A candidate must be of the kind
  asked (a percentage for 比例, a count in the same measure word for ``几起``), and
  among those the one whose clause carries the question's focus wins: in
  ``死亡事故8起，死亡11人，百万吨死亡率0.009``, ``死了多少人`` picks ``11人`` (unit 人,
  clause 死亡), ``几起事故`` picks ``8起``. A figure the question already states is
  never the answer. ``分别`` asks for the whole run (``33.33%、56%、60.43%``); a question about one of
  the things such a run answers item by item gets the item in its place (``死亡人数同比降了多少`` ->
  ``56%``, the place of ``死亡11人``). A change asked without a unit (``涨了多少``) is answered by the
  percentage of the change, and a level (``死亡率是多少``) not by a change. A question about what is
  not done (``还有多少户没修好``) or done (``已经完工的``) picks the figure of that part of a whole
  split by ``除…外``/``其余``. Two figure gaps (``连续几年保持多大的幅度``) are answered together. A
  share is one measure under several names (``比例``, ``占比``, ``份额``).
* **Times**: time expressions (``去年10月``, ``虎年春节前夕``) are candidates, ranked the same way.
  Places, people and organisations are left to the reader: names from the word cut gained nothing
  beside it on the article and cost CMRC a point of EM (``training/README.md``).
* **Lists** (哪些/哪几/哪三): runs of items joined by 、 (and a closing 和/及), or of
  adjacent 《titles》, from the first item to the last, without the verb before or the
  ``等…`` after; the run whose clause carries the focus, and whose length matches
  ``哪三``, wins. A verb that governs the list stays out, but a verbal noun before a verbal
  item (``防汛|救灾和…``) and a verb that modifies items sharing one head (``推动煤电机组|节能
  降碳改造、灵活性改造…``) stay in; a head the question names (哪几场保卫战) written once after
  the last item (``蓝天、碧水、净土保卫战``) stays out. Items written without separators but
  each opened by the same character (``反渗透反颠覆反恐怖反分裂``) are a list too, and a list
  that is all its clause says after 是/包括 (``…，又是能源大省、军工大省、…``) is crisp when its
  sentence is tied to the question. Among several lists, the one whose items are of the kind the
  question names wins: they end with its noun (``哪两种制度`` -> ``“链长制”“链主制”``, ``哪两类基地`` ->
  ``…基地和…基地``), or the noun after their 等 is the question's (``风能、…、氢能等新能源``).
* **Phrases** (什么/哪个, and 如何 when the gap is short): the question is laid over
  the sentence; the words on each side of the question word anchor it, and what the
  sentence has between the anchors fills the gap (``把国家安全作为[头等]大事`` for
  ``把国家安全作为什么大事``). A head noun right after 什么 is kept (头等大事). The
  question's grammar says more: a question word inside a prepositional frame (以什么为牵引)
  is filled by what the sentence frames the same way; a question about what something is
  called (叫什么, 名称) is answered by a quoted name; a noun phrase that only counts
  (``…等一批标志性工程``) points to the instance named before 等; a verb the span starts with
  is dropped when the question's own verb stands before the gap (在建什么 over 加紧建设…);
  a quoted name is kept whole even where it repeats the question's words; a question about
  the object of a verb in its own relative clause (要守住的两条底线…什么) is answered by what the
  sentence puts between that verb and that noun (守住[外防输入、内防反弹]底线). Two gaps joined by
  the question's words (坚定捍卫什么、坚决做到什么) are answered together, through the sentence's copy
  of those words. When the sentence never uses the question's noun, a Chinese construction may say
  what it asks: what A becomes (由A转变为什么) is the B of 由A向B转变; a goal or change (什么目标, 怎样的转变)
  written 由A向B转变, a relation (什么关系) as
  the word after the two things (A和B|良性互动); a one-character verb the tagger reads as a noun
  (创|历史最好水平) does not open the phrase. 哪次会议 as the question's subject is the sentence's subject,
  up to the predicate the question repeats; 做什么 asks for the verb phrase; a one-character gap keeps
  the one-character head after it (召开什么会 -> 全会); a quoted name does not run on over 、 into the next
  verb phrase (守好“华北水塔”、筑牢…).
* **Holding two things together**: 如何兼顾A和B is answered by the sentence's one ``A与B相结合`` (相统一,
  并重, 两手抓).
* **Why not**: a question why something did not happen (咋还没完工) is answered by the cause the sentence
  writes right before the negated state (``除12户因异地重建暂不具备完工条件外``); other why-questions get none.
* **How and whether**: a how-question (如何/怎样/怎么/咋, not 为什么 or 怎么样) whose subject and verb
  the sentence repeats is answered by the few words between them, the manner (``…全会|列专章|介绍``);
  a question about how far something has got (修好了没, 解决得咋样了) by the one figure whose clause
  says it counts what is done (``其余57463户均已竣工``, not ``除511户…暂不具备完工条件外``).
* **English what/which about a named thing** (which campaign, what is it called): the sentence's
  quoted name of that kind (``“七进”活动``), since English words cannot be laid over the sentence.
* **The author** (谁写的, 作者是什么身份, who wrote): the document's byline, ``（作者为…）`` or ``文/…``, says
  it; what it names (a name, a title, or both) is the answer, tied to the question by what a byline is.
* **Times** include days of the week, parts of the day and clock times (``本周六上午九点至下午三点``).

Ties to the focus are measured with the index's idf: sharing a rare word (死亡) counts,
sharing 的 does not. :func:`short_answer` returns the span with exact document offsets,
or None when no crisp span fits (why questions, and how questions without a crisp manner: the
sentence is the answer).
The same candidates tell :mod:`qa.answer.noanswer` whether the sentence holds anything of
the kind asked that is tied to what is asked about.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from ..index import lexical
from ..text import words
from .query import (CLAUSE_MARKS, EN_UNITS, FIGURES_AND_TIMES, SENTENCE_MARKS, UNIT_RE, Query, clause_bounds,
                     clause_start)

_DIGITS = r"(?<![A-Za-z0-9.．])[0-9０-９]+(?:[.,．][0-9０-９]+)*"
_CN = r"[一二两三四五六七八九十]+"
#: A figure in Chinese numerals with its unit: 三次, 六千年, 八百余年, 一百多年, 两万人.
_CN_AMOUNT = r"[一二两三四五六七八九十][一二两三四五六七八九十百千万亿零〇]*(?:余|多)?"
_FIGURE = re.compile(
    rf"(?P<ord>第(?:{_DIGITS}|{_CN})(?:{UNIT_RE}|季度)?)"
    rf"|(?P<pct>百分之(?:{_DIGITS}|{_CN})|{_DIGITS}(?:[%％‰]|个百分点))"
    rf"|(?P<num>{_DIGITS}(?:余|多)?(?:万|亿)?(?:{UNIT_RE})?)"
    rf"|(?P<cn>(?<![“\"‘「]){_CN_AMOUNT}(?:{UNIT_RE})(?![”\"’」]))"
)
_COUNT_UNITS = {"个", "次", "起", "人", "户", "件", "条", "家", "项", "名", "座", "所", "种", "批", "场", "位", "部", "处",
                "篇", "届", "只", "台", "套", "宗", "例", "艘", "架", "枚", "张", "份", "支", "人次", "年", "天", "倍", "轮",
                "期", "周", "月", "岁", "册", "本"}
_TIME = re.compile(
    r"(?:(?:[0-9０-９]{4}|[今去前明上]|[鼠牛虎兔龙蛇马羊猴鸡狗猪])年(?:[0-9０-９]{1,2}月(?:[0-9０-９]{1,2}日)?)?"
    r"(?:春节|元旦|国庆|中秋|除夕|年初|年底|年末|上半年|下半年)?(?:前夕|前后|以前|之前|以后|之后|以来|期间|底|初|末|前|后)?"
    r"|[0-9０-９]{1,2}月(?:[0-9０-９]{1,2}日)?(?:以来|前后|底|初|前|后)?"
    r"|(?:春节|元旦|国庆|中秋|除夕)(?:前夕|前后|期间|以来|前|后)?"
    r"|(?:近|这)?[一二两三四五六七八九十0-9]+年(?:来|以来)|今年以来|近年来|近年)"
)
#: Days of the week and of the calendar, parts of the day and clock times (本周六上午九点至下午三点,
#: 下周五晚上8:00起): a notice says when in these words, not in years and months. A Chinese numeral
#: before 点 is a clock time only after a day or a part of the day (这一点, 重点 are not times).
_DAY = r"(?:(?:本|这|下|上|每|下个|上个)?(?:周|星期|礼拜)[一二三四五六日天末]|今天|明天|后天|昨天|今日|明日|次日|当天|当日)"
_PART = r"(?:上午|下午|中午|晚上|早上|早晨|清晨|凌晨|傍晚|夜间|深夜|午间|白天|今晚|明晚|今早|明早)"
_ARABIC_CLOCK = r"(?:[0-9０-９]{1,2}[:：][0-9０-９]{2}|[0-9０-９]{1,2}(?:点|时)(?:半|整|[0-9０-９]{1,2}分)?)"
_CN_CLOCK = r"(?:[一二两三四五六七八九十]{1,3}点(?:半|整|[一二三四五六七八九十]{1,3}分)?)"
_MOMENT = (rf"(?:{_DAY}{_PART}?(?:{_ARABIC_CLOCK}|{_CN_CLOCK})?|{_PART}(?:{_ARABIC_CLOCK}|{_CN_CLOCK})?"
           rf"|(?<![0-9０-９.．]){_ARABIC_CLOCK}(?![0-9０-９%％]))")
_CLOCK_TIME = re.compile(rf"{_MOMENT}(?:(?:至|到|—|－|-|~|～){_MOMENT})?(?:前|后|以前|之前|以后|左右)?")
_TITLE = re.compile(r"[\u4e00-\u9fff（）()]{1,14}?(?:总书记|书记|省长|市长|县长|主任|部长|主席|总理|局长|厅长|委员长|委员|"
                    r"院长|校长|董事长|总经理|主编|记者)")
_STOP_EDGE = "的了是为达和与及等在对将把被从由于以其"
_OPEN, _CLOSE = "“‘「『《（(\"'", "”’」』》）)\"'"
_CLAUSE = re.compile(r"[，,。；;！？?!：:（）()]")
_ITEM_SEP = "、"


@dataclass
class Candidate:
    """A possible short answer inside one sentence (offsets relative to the sentence)."""

    text: str
    start: int
    end: int
    kind: str  # amount|percent|count|ordinal|number|time|place|person|org|list|phrase
    unit: str | None = None
    context: str = ""
    items: int = 1


@dataclass
class Short:
    """The chosen span: ``text`` at document offsets ``[start, end)``; ``tied`` when its clause carries
    the question's focus (or the question has none to check)."""

    text: str
    start: int
    end: int
    kind: str
    tied: bool
    sentence: int  # index of the sentence it came from
    score: float = 0.0
    context: str = ""  # the clause it sits in
    crisp: bool = True  # sure enough to show (a list tied only through its sentence is not)


# -- candidates ----------------------------------------------------------------------------------------
def _clause(sentence: str, a: int, b: int, items: bool = True) -> str:
    """The clause around ``[a, b)``: to the previous and next clause mark (and 、 when ``items``)."""
    lo, hi = clause_bounds(sentence, a, b, CLAUSE_MARKS + (_ITEM_SEP if items else ""))
    return sentence[lo:hi]


def figures(sentence: str) -> list[Candidate]:
    out = []
    for m in _FIGURE.finditer(sentence):
        text, a, b = m.group(), m.start(), m.end()
        if m.lastgroup == "ord":
            kind, unit = "ordinal", None
        elif m.lastgroup == "pct":
            kind, unit = "percent", "%"
        else:
            um = re.search(rf"(?:万|亿)?({UNIT_RE})$", text)
            unit = um.group(1) if um else None
            if unit == "年" and re.fullmatch(r"[0-9０-９]{4}年", text):
                continue  # a year is a time, not an amount
            if unit in ("月", "日") and re.fullmatch(r"[0-9０-９]{1,2}[月日]", text):
                continue
            if unit is None:
                left = sentence[max(0, a - 4):a]
                kind = "percent" if re.search(r"(率|比|系数|指数|占比|比例)(为|达|是)?$", left) else "number"
                if re.search(r"[年月日]$", sentence[b:b + 1]):
                    continue
            elif unit in _COUNT_UNITS:
                kind = "count"
            else:
                kind = "amount"
        out.append(Candidate(text, a, b, kind, unit, _figure_context(sentence, a, b)))
    return out


def _figure_context(sentence: str, a: int, b: int) -> str:
    """The clause a figure sits in; when that clause says little besides the figure (``死亡11人``,
    ``办结率达99%``, ``增长10.5%``), the clause before it too, which names what is counted."""
    marks = CLAUSE_MARKS + _ITEM_SEP
    lo, hi = clause_bounds(sentence, a, b, marks)
    if "等" in sentence[lo:a]:  # 特钢材料、…、合成生物等10条产业链: the count belongs to the whole list
        return _clause(sentence, a, b, False)
    resp = sentence.rfind("分别", 0, a)
    if resp >= 0 and re.fullmatch(r"分别[^，,。；;、0-9０-９]{0,6}(?:[0-9０-９.．%％‰万亿]+[\u4e00-\u9fff]{0,3}、)*",
                                  sentence[resp:a]):
        # 事故8起，死亡11人，同比分别下降33.33%、56%: about everything it distributes over (one text for the run)
        end = _CLAUSE.search(sentence, resp)
        return sentence[:end.start() if end else len(sentence)]
    own = sentence[lo:hi]
    part = lo
    while part > 0 and re.match(r"(?:除|其中|其余|其他|另有|剩余|尚有|余下)", sentence[part:hi]):
        # 受损农房900户，除12户…外，其余888户均已竣工: a part is counted out of the whole named before it
        part = clause_start(sentence, part - 1)
    if part < lo:
        return sentence[part:hi]
    while len(sentence[lo:hi]) - (b - a) <= 4 and lo > 0:
        # little besides the figure: take in the clause (or list item) before, up to one that says
        # something: 同比分别下降33.33%、56%、60.43%  /  全省煤矿发生…死亡事故8起，死亡11人
        prev_lo = clause_start(sentence, lo - 1, marks)
        own = sentence[prev_lo:lo - 1] + "，" + own
        if sentence[lo - 1] != _ITEM_SEP and len(re.sub(r"[0-9.%％万亿]", "", sentence[prev_lo:lo - 1])) > 4:
            break
        if sentence[lo - 1] == _ITEM_SEP and len(re.sub(rf"{_DIGITS}[^、，]*", "", sentence[prev_lo:lo - 1])) > 4:
            break
        lo = prev_lo
    return own


def times(sentence: str) -> list[Candidate]:
    """Time expressions: dates and periods (:data:`_TIME`), and days with clock times (:data:`_CLOCK_TIME`),
    a date and the day or clock time right after it read as one (5月1日上午9点)."""
    out = []
    found = [m for m in _TIME.finditer(sentence) if m.group()]
    for m in _CLOCK_TIME.finditer(sentence):
        if not m.group() or any(o.start() < m.end() and m.start() < o.end() for o in found):
            continue
        found.append(m)
    found.sort(key=lambda m: m.start())
    spans_: list[tuple[int, int]] = []
    for m in found:
        if spans_ and spans_[-1][1] == m.start():
            spans_[-1] = (spans_[-1][0], m.end())  # 5月1日|上午9点
        else:
            spans_.append((m.start(), m.end()))
    for a, b in spans_:
        ctx = _clause(sentence, a, b, False)
        if len(ctx.strip()) <= b - a + 2:  # a time heading its sentence: 虎年春节前夕，…
            nxt = _CLAUSE.search(sentence, b)
            if nxt:
                ctx += _clause(sentence, nxt.end(), nxt.end(), False)
        out.append(Candidate(sentence[a:b], a, b, "time", None, ctx))
    return out


#: A byline: a sentence that is only 作者为/作者：/文/… and who (a name, a title), perhaps in brackets.
_BYLINE = re.compile(r"^\s*[（(【\[]?\s*(?:作者(?:为|是|系|：|:)?|(?:文|撰文|执笔|撰稿)\s*(?:：|:|／|/|丨|\|))\s*"
                     r"(?P<who>[^（）()【】\[\]。；;，,！？?!]{2,40}?)\s*[）)】\]]?\s*$")


_ASKS_NAME = re.compile(r"名字|姓名|叫什么|叫啥|\bname\b", re.I)


def byline(sentence: str) -> Candidate | None:
    """Who a byline sentence names (中共山西省委书记 in ``（作者为中共山西省委书记）``), or None."""
    m = _BYLINE.match(sentence)
    if not m:
        return None
    return Candidate(m.group("who"), m.start("who"), m.end("who"), "author", None, sentence)


def lists(sentence: str, query: Query | None = None) -> list[Candidate]:
    """Runs of 、-joined items (and a closing 和/及/与 item), runs of adjacent 《titles》 or “names”, and,
    for a question that asks for two things, two items joined by 和/与/及."""
    out = []
    for m in re.finditer(r"(?:《[^《》]{1,40}》){2,}|(?:“[^“”]{1,16}”){2,}", sentence):
        out.append(Candidate(m.group(), m.start(), m.end(), "list", None, _clause(sentence, m.start(), m.end(), False),
                             items=m.group().count(m.group()[0])))
    out.extend(compact_runs(sentence))
    cut = _cut_offsets(sentence)
    seps = [i for i, c in enumerate(sentence) if c == _ITEM_SEP]
    runs: list[list[int]] = []
    if seps:  # group separators that belong to one run: no clause mark between them
        cur = [seps[0]]
        for i in seps[1:]:
            if _CLAUSE.search(sentence[cur[-1] + 1:i]) or i - cur[-1] > 24 or "等" in sentence[cur[-1] + 1:i]:
                runs.append(cur)
                cur = [i]
            else:
                cur.append(i)
        runs.append(cur)
    for run in runs:
        others = [j - i - 1 for i, j in zip(run, run[1:])]
        b = _item_end(sentence, run[-1], cut)
        tails = [sentence[i + 1:j] for i, j in zip(run, run[1:] + [b if b is not None else run[-1] + 1])]
        shared = len(tails) >= 2 and all(len(t) >= 3 and t[-2:] == tails[0][-2:] for t in tails)
        a = _item_start(sentence, run[0], cut, others, shared)
        if a is None or b is None or b - a < 3:
            continue
        if query is not None:  # a verb of the question before the first item is not part of it
            a = _strip_lead(sentence, a, run[0], query, min(others + [b - run[-1] - 1]))
            b = _strip_shared_head(sentence, a, b, run, query)
        c = _list_candidate(sentence, a, b)
        if c is not None:
            out.append(c)
    if query is not None and query.n_items == 2:
        for m in re.finditer(r"(?<=[\u4e00-\u9fff”》])(?:和|与|及)(?=[\u4e00-\u9fff“《])", sentence):
            if any(r[0] <= m.start() <= r[-1] + 16 for r in runs):
                continue
            a = _item_start(sentence, m.start(), cut, [])
            b = _item_end(sentence, m.start(), cut)
            if a is None or b is None:
                continue
            a = _strip_lead(sentence, a, m.start(), query, 2)
            mirror = m.start() - (b - m.end())  # 粮食生产基地和蔬菜供应基地: parallel items are about as long
            if mirror < a and heads_match([sentence[mirror:m.start()], sentence[m.end():b]], query) and \
                    not re.search(r"[的之是为和与及、，,。；;：:“”《》]", sentence[mirror:a]):
                a = mirror
            head = re.match(r"[^，。；、]{0,2}?(?:两|二)?[个项种场条部类大]?([\u4e00-\u9fff]{1,2})", query.right)
            after = sentence[b:b + 8]
            if not (re.match(r"(?:等)?(?:两|二)[个项种场条部类]", after) or (head and head.group(1) in after)
                    or heads_match([sentence[a:m.start()], sentence[m.end():b]], query)):
                continue  # two things joined by 和 answer "which two" only when the sentence counts or names them
            c = _list_candidate(sentence, a, b, sep=m.group())
            if c is not None:
                out.append(c)
    return out


def head_noun(query: Query) -> str | None:
    """The noun a list question ends on (哪两种负责人制度 -> 制度, 哪几类基地 -> 基地), or None."""
    if query.english or query.want != "list":
        return None
    cut = [(w, f) for w, f in words.cut(query.right) if f != "x"]
    while cut and (cut[-1][1].startswith(("u", "y")) or cut[-1][0] in "的了呢啊吗呀"):
        cut.pop()
    if not cut or not cut[-1][1].startswith("n") or len(cut[-1][0]) < 2:
        return None
    return cut[-1][0]


def named_kind(sentence: str, c: Candidate, query: Query) -> bool:
    """发展风能、太阳能、氢能等新能源: the noun after 等 names what the items are; a list question that uses
    that noun (有哪几种新能源) asks for these items."""
    m = re.match(r"等(?:[一二两三四五六七八九十0-9]+[个项种类大批条家])?([\u4e00-\u9fff]{2,6})", sentence[c.end:])
    if not m or query.english:
        return False
    kind = m.group(1)  # 等新能源 or 等新能源产业: the kind, or a word it opens with
    return kind in query.text or any(kind[:k] in query.text and words.lexicon().entry(kind[:k])
                                     for k in range(2, len(kind)))


def heads_match(items: list[str], query: Query) -> bool:
    """Every item is a thing of the kind the question names: it ends with that noun (重要综合能源基地 for
    基地), or, for a two-character noun, with its first character used as a suffix (链长制 for 制度)."""
    head = head_noun(query)
    if head is None or not items:
        return False
    bare = [re.sub(r"^[“《‘]|[”》’]$", "", it.strip()) for it in items]
    return all(it.endswith(head) or (len(head) == 2 and it.endswith(head[0]) and len(it) > 1) for it in bare)


def compact_runs(sentence: str) -> list[Candidate]:
    """Items written without separators, each opened by the same character (反渗透反颠覆反恐怖反分裂):
    three or more of the same length in a row make a list."""
    out, i = [], 0
    while i < len(sentence):
        found = None
        for k in (3, 2):
            n = 1
            while i + (n + 1) * k <= len(sentence) and sentence[i + n * k] == sentence[i] and \
                    all("\u4e00" <= ch <= "\u9fff" for ch in sentence[i:i + (n + 1) * k]):
                n += 1
            if n >= 3 and "\u4e00" <= sentence[i] <= "\u9fff" and sentence[i] not in "的了是和与及在":
                found = (k, n)
                break
        if found is None:
            i += 1
            continue
        k, n = found
        b = i + n * k
        out.append(Candidate(sentence[i:b], i, b, "list", None, _clause(sentence, i, b, False), items=n))
        i = b
    return out


def _strip_shared_head(sentence: str, a: int, b: int, run: list[int], query: Query) -> int:
    """哪几场保卫战 over 蓝天、碧水、净土保卫战: the head noun the question names after its question word,
    written once after the last item for all of them, is not part of the answer (the items are 蓝天、碧水、
    净土). Kept when every item carries it (节能降碳改造、灵活性改造、供热改造 for 哪三项改造)."""
    m = re.match(r"[个项种条类部场大件重批家名位座所]?([\u4e00-\u9fff]{2,6})$", query.right)
    if not m:
        return b
    head = m.group(1)
    first = sentence[a:run[0]]
    if sentence[a:b].endswith(head) and not first.endswith(head) and b - len(head) - run[-1] - 1 >= 1:
        return b - len(head)
    return b


def _strip_lead(sentence: str, a: int, sep: int, query: Query, shortest: int) -> int:
    """Move the start of a list past words the question itself uses (重点培育|特钢材料、…, 打好|防疫和…),
    as long as the first item stays as long as the shortest other item."""
    for back in (0, 1, 2):
        for k in range(min(sep - a - 1, 8), 1 - back, -1):
            lo = a - back
            if lo >= 0 and k + back >= 2 and sentence[lo:a + k] in query.text and sep - (a + k) >= max(2, shortest):
                return a + k
    return a


def _list_candidate(sentence: str, a: int, b: int, sep: str = _ITEM_SEP) -> Candidate | None:
    text = sentence[a:b]
    while text and text[0] in _OPEN and text[-1] in _CLOSE and text.count(text[0]) == 1:
        text, a, b = text[1:-1], a + 1, b - 1  # quotes that wrap the whole run
    if len(text) > 120 or len(text) < 3:
        return None
    items = text.split(sep)
    if not _parallel(items):
        return None
    n = len(items) + (sep == _ITEM_SEP and bool(re.search(r"[^、]{1,14}(?:和|及|以及|与)[^、]{1,14}$", items[-1])))
    return Candidate(text, a, b, "list", None, _clause(sentence, a, b, False), items=n)


def _parallel(items: list[str]) -> bool:
    """Items of one list look alike: similar lengths, and quoted all or none
    (``“华北水塔”、筑牢…屏障`` is a name and a clause, not a list)."""
    lens = [len(i) for i in items if i]
    if len(lens) < len(items) or max(lens) > 4 * min(lens) + 2:
        return False
    quoted = [it[:1] in _OPEN and it[-1:] in _CLOSE for it in items]
    return all(quoted) or not any(quoted)


def _cut_offsets(sentence: str) -> list[tuple[int, int, str]]:
    out, pos = [], 0
    for w, flag in words.cut(sentence):
        start = sentence.find(w, pos)
        if start < 0:
            continue
        out.append((start, start + len(w), flag))
        pos = start + len(w)
    return out


def _item_start(sentence: str, sep: int, cut, others: list[int], shared_head: bool = False) -> int | None:
    """Start of the first item of a run whose first separator is at ``sep``: walk back over the words
    before it to a preposition, a clause mark, or a verb once the item is as long as the others are on
    average, never making it longer than the longest other item (keeping a lead character that the next
    item repeats: 从源头上抓、从短板上抓).

    Two kinds of verb do not govern the list and stay in the first item: a verbal noun before an item
    that is itself a verb (防汛|救灾和灾后恢复重建: 防汛救灾 is one item), and, when every item ends with
    the same head (…改造、…改造), a verb that follows a noun which follows a verb (推动|煤电机组|节能降碳改造:
    推动 governs, 节能 modifies 降碳改造)."""
    before = [w for w in cut if w[1] <= sep]
    if not before:
        return None
    start = before[-1][0]
    mean = sum(others) / len(others) if others else 4
    longest = max(others) if others else 8
    earlier = list(reversed(before[:-1]))
    for n, (a, b, flag) in enumerate(earlier):
        text = sentence[a:b]
        if _CLAUSE.search(text) or text in _OPEN or text in _CLOSE and text != "》" or \
                flag in ("p", "c", "d", "x", "r", "y") or flag.startswith("u") or text in ("是", "为", "有", "即"):
            break
        if sep - a > max(longest + 1, mean + 2):
            break
        if flag in ("v", "vn") and sep - start >= 2 and not _verb_led(sentence[start:sep], flag):
            nouns = list(itertools.takewhile(lambda w: w[2] in ("n", "j", "nz", "nt"), earlier[n + 1:]))
            rest = earlier[n + 1 + len(nouns):]
            modifier = shared_head and flag == "v" and nouns and nouns[0][1] - nouns[-1][0] >= 2 and \
                rest and rest[0][2] == "v"
            if not modifier:
                break  # the verb that governs the list (抓好|煤矿、…), unless the item is verb + verb (防汛救灾)
            start = a
            break  # the noun before the modifying verb qualifies the whole list (煤电机组|节能…、…)
        start = a
    nxt = sentence[sep + 1:sep + 2]
    if start > 0 and nxt and sentence[start - 1] == nxt and nxt not in _OPEN:
        start -= 1  # parallel items: 从源头上抓、从短板上抓
    if start > 0 and sentence[start - 1] in _OPEN and sentence[start - 1] != "《":
        start -= 1
    return start


def _verb_led(text: str, before: str = "v") -> bool:
    """Whether ``text`` starts with a verb of two characters or more: the word ``before`` it (tagged
    ``before``) then makes one verb + verb item with it; a verbal noun (防汛, 供热) joins a verbal noun
    too (救灾), a plain verb only a plain verb."""
    cut = words.cut(text)
    return bool(cut) and cut[0][1] in (("v", "vn") if before == "vn" else ("v",)) and len(cut[0][0]) >= 2


def _item_end(sentence: str, sep: int, cut) -> int | None:
    """End of the last item after the last separator: up to 等, 的, a clause mark, or a closing
    quote — through one 和/及/与 that joins a final item."""
    rest = sentence[sep + 1:]
    m = re.match(r"[^，,。；;！？?!：:、（）()]*", rest)
    seg = m.group()
    cut_at = len(seg)
    for pat in (r"等", r"的", r"[”’」』]", r"这|此", r"[“‘「『]", r"[两二三四五六七八九十\d]+[个项种场条部类大件]"):
        mm = re.search(pat, seg[1:])
        if mm:
            cut_at = min(cut_at, mm.start() + 1 + (1 if pat == r"[”’」』]" and seg[:1] in _OPEN else 0))
    end = sep + 1 + cut_at
    return end if end > sep + 1 else None


# -- choosing -------------------------------------------------------------------------------------------
def _tokens(word: str) -> list[str]:
    """The tokens that show ``word`` in a text: its bigrams (a shared single character of a longer
    word is chance), or the character itself for a one-character word; figures and Latin words whole."""
    toks = lexical.tokenize(word)
    cjk = [t for t in toks if lexical.is_cjk_token(t)]
    if len(word) > 1 and any(len(t) == 2 for t in cjk):
        cjk = [t for t in cjk if len(t) == 2]
    return list(dict.fromkeys(cjk + [t for t in toks if not lexical.is_cjk_token(t)]))


def _cover(word: str, have: set[str], lex: lexical.LexicalIndex) -> float:
    """idf-weighted share of ``word``'s tokens found in the token set ``have`` (0..1)."""
    toks = _tokens(word)
    if not toks:
        return 0.0
    found = lex.lookup(toks)
    weights = [(lex_idf(lex, found.get(t)), t in have) for t in toks]
    total = sum(w for w, _ in weights)
    return sum(w for w, hit in weights if hit) / total if total > 0 else 0.0


def lex_idf(lex: lexical.LexicalIndex, entry) -> float:
    if not entry:
        return 0.0
    import math

    n = entry[1]
    return math.log(1 + (lex.n_docs - n + 0.5) / (n + 0.5))


#: A candidate is tied to the question when its clause carries at least this share of the focus
#: (weighted, over the focus words the passage uses at all); chosen on the dev split.
TIE_MIN = 0.5


def tie(query: Query, context: str, lex: lexical.LexicalIndex, focus: list[str] | None = None) -> float:
    """How much ``context`` carries the question's focus, in [0, 1]: the idf-weighted share of the
    focus words' tokens it holds, over the focus words the documents use at all (a colloquial word
    the documents never use cannot be held against a clause, but 粮食 in a question about 粮食总产量
    is held against a clause about 煤炭产量)."""
    have = set(lexical.tokenize(context))
    num = den = 0.0
    focus = query.focus if focus is None else focus
    for f in focus:
        kind = _MEASURE_WORDS.get(f)
        if kind is not None:
            # 多大比例 over 外送电力占比33%, 电量增长多少 over 煤炭产量…增长10.5%: a share or a rise is the kind of
            # figure, which the kind checks match; it ties a clause only when the question names nothing else
            if len(focus) > 1:
                continue
            if direction(context) == kind or (kind == "share" and any(w in context for w in SHARE_WORDS)):
                num, den = num + 1.0, den + 1.0
                continue
        toks = _tokens(f)
        found = lex.lookup(toks)
        if not found:
            continue
        den += 1.0
        num += _cover(f, have, lex)
    return num / den if den else 0.0  # nothing the question asks about is in the documents' words


#: The names of a share: a question may ask 多大比例 of a sentence that writes 占比.
SHARE_WORDS = ("比例", "占比", "比重", "份额", "百分比")
#: Words that say what kind of figure is asked (a share, a rise, a fall), not what is measured.
_MEASURE_WORDS = {**{w: "share" for w in SHARE_WORDS},
                  **{w: "up" for w in ("增长", "增幅", "增速", "提高", "上升", "增加", "上涨")},
                  **{w: "down" for w in ("下降", "降幅", "降低", "减少")}}

_RATE_CLASSES = [("share", re.compile(r"比重|占比|比例|份额|百分比|占.{0,6}的?比|share|proportion|percentage of", re.I)),
                 ("up", re.compile(r"增长|增幅|增速|提高|上升|增加|上涨|涨|升了|多了|grow|increase|rise", re.I)),
                 ("down", re.compile(r"下降|降幅|降低|减少|降了|降(?=多少|几)|少了|decline|decrease|fall|drop", re.I)),
                 ("rate", re.compile(r"([\u4e00-\u9fff]{1,3})率"))]


def rate_class(text: str) -> tuple[str, str] | None:
    """What a percentage measures, from the words around it: a share, a rise, a fall, or a named
    rate (化解率); None when nothing says."""
    for name, pat in _RATE_CLASSES:
        m = None
        for m in pat.finditer(text):
            pass
        if m:
            return name, (m.group(1) if name == "rate" else "")
    return None


def _direction_compatible(query: Query, c: Candidate) -> bool:
    """A question about a rise or a fall (增长了多少) is not answered by a level (净输出电量…). With a second
    figure gap (连续几年保持多大的降幅), the rise or fall is the second gap's."""
    second = _SECOND_FIGURE.match(query.right)
    right = second.group() if second else query.right
    q = direction(query.left + " " + right) if not query.english else direction(query.text)
    if q is None:
        return True
    return direction(c.context[:c.context.rfind(c.text)] if c.text in c.context else c.context) == q


def direction(text: str) -> str | None:
    """Whether ``text`` speaks of a rise ("up") or a fall ("down"), by its last such word; None if neither
    (比例下降了 speaks of a fall, though it names a share too)."""
    last = None
    for name, pat in _RATE_CLASSES:
        if name in ("up", "down"):
            for m in pat.finditer(text):
                if last is None or m.start() > last[1]:
                    last = (name, m.start())
    return last[0] if last else None


def _rate_compatible(query: Query, c: Candidate) -> bool:
    q = rate_class(query.left + " " + query.right) if not query.english else rate_class(query.text)
    if q is None:
        return True
    if direction(query.text if query.english else query.left + " " + query.right):
        return _direction_compatible(query, c)  # 比例下降了多少: a fall of the share, not the share
    mine = rate_class(c.context[:c.context.rfind(c.text)] if c.text in c.context else c.context)
    if mine is None:
        return True
    if q[0] != mine[0]:
        return False
    return q[0] != "rate" or q[1][-1:] == mine[1][-1:]


def _same_rate(query: Query, c: Candidate) -> bool:
    """The question names a rate (化解率, 事故率) and the figure is that rate."""
    q = rate_class(query.left + " " + query.right) if not query.english else None
    mine = rate_class(c.context[:c.context.rfind(c.text)] if c.text in c.context else c.context)
    return bool(q and mine and q[0] == mine[0] == "rate" and len(mine[1]) >= 2 and q[1].endswith(mine[1][-2:]))


_PLACE_HEAD = re.compile(r"^(?:个|座)?(?:省市|省份|省|城市|市|县|区|地方|地区|国家)")


def _compatible(query: Query, c: Candidate) -> bool:
    want = query.want
    if want == "percent":
        return c.kind == "percent" and _rate_compatible(query, c)
    if want in ("count", "amount"):
        if c.kind not in ("count", "amount", "number", "percent", "ordinal"):
            return False
        if c.kind == "ordinal":  # 第三次 answers 几次
            return bool(query.unit) and query.unit != "个" and c.text.endswith(query.unit)
        if want == "amount" and not query.unit and c.unit in ("年", "天", "月", "周", "岁"):
            return False  # SO2浓度是多少 is not answered by 连续四年: a duration measures no amount
        if query.unit and query.unit not in ("个",):
            ok = c.unit == query.unit or (c.unit or "").endswith(query.unit)
        elif query.unit == "个":  # 多少个省份 counts things: 4356万吨 is no count of them, 22个 or 22省 may be
            ok = c.kind in ("count", "number")
        else:
            ok = c.kind != "percent" or want == "amount"
        # 连续下降了几年: the years are counted, the fall is what happened in them
        return ok and (query.unit in ("年", "天", "月", "周") or _direction_compatible(query, c))
    if want == "ordinal":
        return c.kind == "ordinal"
    if want == "time":
        return c.kind == "time"
    if want == "list":
        if c.kind != "list" or (query.n_items and c.items != query.n_items):
            return False
        if _PLACE_HEAD.match(query.right):  # 哪几个省市: the items must be places
            return all(any(f.startswith("ns") for _, f in words.cut(it)) for it in c.text.split(_ITEM_SEP))
        return True
    return False


def _in_question(query: Query, c: Candidate) -> bool:
    q = lexical.normalize(query.text)
    t = lexical.normalize(c.text)
    if t in q:
        return True
    bare = re.match(r"[0-9.]+", t)
    return bool(bare) and c.kind in ("count", "amount") and bare.group() in re.findall(r"[0-9.]+", q) and \
        query.want not in ("count", "amount")


#: The asked kinds the rules find spans of; for the other typed kinds (a place, a person) the reader's span
#: is the one check 3 judges.
READS = FIGURES_AND_TIMES + ("list", "author")


def candidates(query: Query, sentence: str) -> list[Candidate]:
    """The candidates of the kind ``query`` wants in ``sentence`` (not the ones the question states)."""
    if query.want in ("count", "amount", "percent", "ordinal"):
        pool = figures(sentence)
    elif query.want == "time":
        pool = times(sentence)
    elif query.want == "list":
        pool = lists(sentence, query)
    else:
        return []
    return [c for c in pool if _compatible(query, c) and not _in_question(query, c)]


def _figure_run(sentence: str, best: Candidate, pool: list[Candidate], after: str) -> list[Candidate]:
    """The figures of ``best``'s kind joined to it in a run (33.33%、56%、60.43%): later ones when the text
    between matches ``after``, earlier ones when it is one 、/和/及/与."""
    same = sorted((c for c in pool if c.kind == best.kind), key=lambda c: c.start)
    run = [best]
    for c in same:
        if c.start >= run[-1].end and re.fullmatch(after, sentence[run[-1].end:c.start]):
            run.append(c)
    for c in reversed(same):
        if c.end <= run[0].start and re.fullmatch(r"[、和及与]", sentence[c.end:run[0].start]):
            run.insert(0, c)
    return run


def _several(query: Query, sentence: str, best: Candidate, pool: list[Candidate]) -> Candidate:
    """For 分别/respectively: the 、-run of figures around ``best``."""
    run = _figure_run(sentence, best, pool, r"[、和及与,，]?")
    if len(run) < 2:
        return best
    a, b = run[0].start, run[-1].end
    return Candidate(sentence[a:b], a, b, best.kind, best.unit, best.context, items=len(run))


def typed_span(query: Query, sentences: list[str], lex: lexical.LexicalIndex, first: int = 0,
               clause_sim=None) -> tuple[int, Candidate, float] | None:
    """The best candidate of the wanted kind over ``sentences``: (sentence index, candidate, tie).

    Sentence ``first`` (the answer sentence) is preferred on equal ties; for English questions,
    whose words cannot be matched, ``clause_sim`` (texts -> cosine with the question) ranks the
    candidates' clauses.
    """
    best = None
    pools = [(i, c) for i, s in enumerate(sentences) for c in candidates(query, s)]
    sims = None
    if clause_sim is not None and len(pools) > 1:
        ctx = list(dict.fromkeys(c.context for _, c in pools))
        got = dict(zip(ctx, clause_sim(ctx)))
        sims = [got[c.context] for _, c in pools]
    asks_level = direction(query.text if query.english else query.left + " " + query.right) is None
    verb = asked_verb(query)
    measured, sentence_tokens = measured_words(query), {}
    polarity = _polarity(query)
    # 还有多少户没加固: what is not done is not written with the verb of what is done (暂不具备开工条件)
    not_done_focus = None
    if polarity == "not":
        not_done_focus = [f for f in query.focus if not f.startswith(("没", "未")) and
                          not re.search(rf"(?:没|未)[\u4e00-\u9fff]?{re.escape(f)}", query.text)] or None
    for n, (i, c) in enumerate(pools):
        if verb and c.kind in ("count", "amount", "number") and verb in sentences[i] and verb not in c.context:
            continue  # 化解了多少 over 排查隐患29.6万件，…化解率97.52%: the figure counts another deed
        if measured and c.kind in ("count", "amount", "number", "percent"):
            have = sentence_tokens.setdefault(i, set(lexical.tokenize(sentences[i])))
            if any(_cover(w, have, lex) < 0.5 for w in measured):
                continue  # 粮食总产量 over 煤炭产量11.9亿吨, 受伤人数 over 死亡11人: another thing measured
        # a list is the matter of its sentence: it is tied through the whole sentence (and every
        # clause of the question), and among the lists of a sentence the one whose own clause carries
        # the focus ranks first
        ctx = sentences[i] if c.kind == "list" or query.several else c.context
        t = tie(query, ctx, lex, query.content if c.kind == "list" else not_done_focus) if query.focus else 0.0
        if c.kind == "percent" and _same_rate(query, c):
            t = max(t, 1.0)  # the very rate asked for (事故率 … 事故率0.02)
        score = t + (0.15 if i == first else 0.0) - 0.002 * c.start
        if c.kind == "list":
            score += 0.5 * tie(query, c.context, lex) + 0.02 * c.items
            if heads_match(_items(c.text), query) or named_kind(sentences[i], c, query):
                score += 0.5  # 哪两种制度 over 建立“链长制”“链主制”, not another two-item list of the sentence
        if query.want == "amount":  # an amount asked without a unit: a level before a percentage
            score -= {"amount": 0.0, "count": 0.05, "number": 0.1, "percent": 0.6}.get(c.kind, 0.0)
        if asks_level and c.kind in ("percent", "number", "amount") and \
                direction(_clause(sentences[i], c.start, c.end, False)):
            score -= 0.5  # a level is asked (死亡率是多少): a change (同比下降60.43%) answers something else
        if polarity and c.kind in ("count", "amount", "number", "percent"):
            # 还有多少户没修好 / 已经修好的有多少户, over 900户，除12户暂不具备条件外，其余888户均已竣工
            own = _clause(sentences[i], c.start, c.end, False)
            c_not = bool(_NOT_DONE.search(own))
            c_done = not c_not and bool(_DONE.search(own))
            if polarity == "not" and not c_not:
                continue  # 没转移的群众有多少 is not answered by the number moved
            score += 0.3 if c_done else -0.3 if c_not else 0.0
        if query.want == "time" and re.search(r"来$", c.text):
            score -= 0.1  # a period (五年来) answers "when" worse than a point in time
        if sims is not None:
            score += 2 * sims[n]
        if best is None or score > best[3]:
            best = (i, c, t, score)
    if best is None:
        return None
    i, c, t, _ = best
    second = _SECOND_FIGURE.match(query.right) if c.kind in ("count", "amount", "number") else None
    if second:
        c = _two_figures(sentences[i], c, second.group(1)) or c
    elif query.several and c.kind in ("count", "amount", "percent", "number"):
        c = _several(query, sentences[i], c, [x for j, x in pools if j == i])
    elif c.kind in ("count", "amount", "percent", "number"):
        c = _respective(query, sentences[i], c, [x for j, x in pools if j == i], lex, clause_sim)
    return i, c, t


#: A figure question with a second figure gap after the first (连续几年保持多大的改善幅度): the words between
#: the two gaps (after the first gap's measure word).
_SECOND_FIGURE = re.compile(rf"^(?:{UNIT_RE})?([\u4e00-\u9fff]{{1,6}}?)(?:多大|多少|多高|几)")


def _two_figures(sentence: str, c: Candidate, between: str) -> Candidate | None:
    """连续几年保持多大的改善幅度 over 连续四年保持20%以上改善幅度: two figure gaps joined by the question's
    words are answered together, from the first figure through the sentence's copy of those words to the
    second figure (with a 以上/以下/左右 that bounds it). None unless the sentence has them in that order."""
    if not sentence.startswith(between, c.end):
        return None
    nxt = next((f for f in figures(sentence) if f.start == c.end + len(between)), None)
    if nxt is None:
        return None
    b = nxt.end + (len(m.group()) if (m := re.match(r"以上|以下|左右|之多|多", sentence[nxt.end:])) else 0)
    return Candidate(sentence[c.start:b], c.start, b, c.kind, c.unit, c.context)


def measured_words(query: Query) -> list[str]:
    """The words of the noun phrase right before a figure question word, which names the thing measured
    (粮食|总产量 in 粮食总产量是多少, 煤矿|受伤 in 煤矿受伤人数是多少): every one of them must be in the
    figure's sentence (the clause may say 事故率 for 交通事故率, having named 交通事故 before), since each
    changes what is measured. Empty when a verb stands before the question word (转移安置了多少群众)."""
    if query.english or query.want not in ("count", "amount", "percent") or not query.left:
        return []
    left = re.sub(r"(?:是|有|为|达到|达|约|共|一共|总共|大概|大约)+$", "", query.left)
    if left == query.left and not re.search(r"(?:的)$", left):
        return []  # no copula before the question word: 转移了多少, 产量多少 (the focus check suffices)
    left = re.sub(r"的$", "", left)
    run = []
    for w, f in reversed([(w, f) for w, f in words.cut(left) if f != "x"]):
        if not f.startswith(("n", "vn", "a", "z", "b", "v")) or f.startswith(("ns", "nr", "nt")) or w in ("的",):
            break
        run.append(w)
    return [w for w in reversed(run) if len(w) >= 2 and w not in _MEASURE_WORDS and
            not re.fullmatch(r"[\u4e00-\u9fff]?数|数量|总量|总数|规模|水平|情况", w)]  # 人数, 户数: the unit


def asked_verb(query: Query) -> str | None:
    """The verb right before a figure question word (化解|了多少, 排查|了多少件), or None."""
    if query.english or query.want not in ("count", "amount") or not query.left:
        return None
    cut = [(w, f) for w, f in words.cut(re.sub(r"[了的过]+$", "", query.left)) if f != "x"]
    if cut and cut[-1][1].startswith("v") and len(cut[-1][0]) >= 2:
        return cut[-1][0]
    return None


def _polarity(query: Query) -> str | None:
    """Whether a figure question asks about what is not done (还有多少户没修好: "not"), what is done
    (已经完工的有多少户: "done"), or neither (None)."""
    if query.english or not query.wh:
        return None
    around = query.left + query.right
    if re.search(r"(?<![淹埋沉出吞隐覆泯])没|未|不具备|还差", around):  # 淹没, 出没: 没 that negates nothing
        return "not"
    return "done" if re.search(r"已经|已|完成了?|完工|竣工|办结|解决了", around) else None


def _items(text: str) -> list[str]:
    """The items of a list candidate's text (joined by 、/和/与/及, or adjacent “names”/《titles》)."""
    if re.fullmatch(r"(?:《[^《》]+》)+|(?:“[^“”]+”)+", text):
        return re.findall(r"[《“][^《》“”]+[》”]", text)
    return [t for t in re.split(r"、|和|与|及", text) if t]


def _respective(query: Query, sentence: str, best: Candidate, pool: list[Candidate], lex: lexical.LexicalIndex,
                clause_sim=None) -> Candidate:
    """``事故8起，死亡11人，死亡率0.009，同比分别下降33.33%、56%、60.43%``: a run of figures after 分别 answers,
    item by item, the figures named before it. A question about one of those things (死亡人数降了多少) is
    answered by the item in its place: the earlier figure whose measure word the question counts in
    (人数 -> 人, 起数 -> 起), or whose rate it names (死亡率), or, failing both, whose own clause carries
    the question's focus (for English, whose clause is nearest in meaning)."""
    chain = _figure_run(sentence, best, pool, r"[、和及与]")
    n = len(chain)
    at = sentence.rfind("分别", 0, chain[0].start)
    if n < 2 or at < 0 or chain[0].start - at > 8:
        return best
    before = [c for c in figures(sentence[:at]) if c.kind in ("count", "amount", "percent", "number")][-n:]
    if len(before) != n:
        return best
    own = [_clause(sentence, c.start, c.end) for c in before]
    text = lexical.normalize(query.text)
    en_units = {u for u, pat in EN_UNITS if pat.search(text)} if query.english else set()
    scores = []
    for c, clause in zip(before, own):
        score = 0.0
        if c.unit and (c.unit + "数" in text or (query.unit and query.unit == c.unit) or c.unit in en_units):
            score += 2.0
        rate = re.search(r"([\u4e00-\u9fff]{2,3}率)", clause)
        if rate and (rate.group(1)[-2:] in text or (query.english and re.search(r"\brate\b", text))):
            score += 2.5  # a rate named outweighs the measure word of the thing it is the rate of
        if not query.english:
            score += tie(query, clause, lex)
        scores.append(score)
    if query.english and clause_sim is not None:
        scores = [a + 2 * b for a, b in zip(scores, clause_sim(own))]
    top = max(scores)
    if scores.count(top) != 1 or top <= 0:
        return best
    return chain[scores.index(top)]


# -- phrases: lay the question over the sentence ---------------------------------------------------------
_TRAILING_PARTICLES = re.compile(r"[的了是为着过，, ]+$")
_NOUNISH = ("n", "nr", "ns", "nt", "nz", "j", "eng", "l", "i", "b", "vn", "an")


def _anchor(part: str, sentence: str, lo: int, hi: int, prefer_end: bool) -> tuple[int, int] | None:
    """Where a piece of the question's text re-appears in ``sentence[lo:hi]``: the longest common
    substring (>= 2 characters), preferring one near the gap (the end of the left part, the start
    of the right part). Returns its (start, end) in the sentence, the occurrence nearest the gap."""
    best = None
    n = len(part)
    for i in range(n):
        for j in range(n, i + 1, -1):
            sub = part[i:j]
            if best is not None and len(sub) < best[0] - 2:
                break
            at = sentence.rfind(sub, lo, hi) if prefer_end else sentence.find(sub, lo, hi)
            if at < 0:
                continue
            gap = (n - j) if prefer_end else i
            score = len(sub) - 0.35 * gap
            if best is None or score > best[0]:
                best = (score, at, at + len(sub))
            break
    return (best[1], best[2]) if best else None


def _trim(text: str, a: int) -> tuple[str, int]:
    """Drop particles and verbs of being at the edges, and quotes that wrap the whole span."""
    while text and (text[0] in "的了是为达和及与、：:，, " or text[0] in _CLOSE):
        text, a = text[1:], a + 1
    while text and (text[-1] in "的了是，,。；;：: " or text[-1] in _OPEN):
        text = text[:-1]
    while len(text) >= 2 and text[0] in _OPEN and text[-1] in _CLOSE and text.count(text[0]) == 1 and \
            text[0] != "《":
        text, a = text[1:-1], a + 1
    return text, a


def _strip_question_words(text: str, a: int, query: Query, keep: str = "") -> tuple[str, int]:
    """An answer does not repeat the question: drop question words (>= 2 characters) at its edges."""
    q = query.text
    floor = len(keep) + 2  # what is left must still say more than the head noun
    changed = True
    while changed and len(text) > 2:
        changed = False
        for k in range(min(len(text) - floor, 12), 1, -1):
            if text[:k] in q and not keep.startswith(text[:k]) and _balanced(text[k:]):
                text, a, changed = text[k:], a + k, True
                break
            if text[-k:] in q and text[-k:] != keep and not (keep and text.endswith(keep)) and _balanced(text[:-k]):
                text, changed = text[:-k], True
                break
        quoted = len(text) >= 2 and text[0] in _OPEN and text[-1] in _CLOSE and text.count(text[0]) == 1
        text, a = _trim(text, a)
        if quoted:
            break  # a quoted name is kept whole even where it repeats the question's words (“两工程一机制”)
    return text, a


#: One-character verbs of result that the tagger reads as nouns in 创历史最好水平, 居全国前列: a noun
#: phrase does not start with them.
_MONO_VERBS = set("创达居列占获破超逾")


def _noun_phrases(sentence: str, head: str) -> list[tuple[int, int]]:
    """Noun phrases of ``sentence`` that end with ``head`` (…能源基地, “文明守望工程”), with coordinated
    ones joined (综合能源基地和电力外送基地)."""
    cut = _cut_offsets(sentence)
    out = []
    for m in re.finditer(re.escape(head), sentence):
        b = m.end()
        if b < len(sentence) and sentence[b] in "”’」』》":
            opening = sentence.rfind({"”": "“", "’": "‘", "」": "「", "』": "『", "》": "《"}[sentence[b]], 0, m.start())
            if opening >= 0 and not _CLAUSE.search(sentence[opening:b]):
                out.append((opening, b + 1))  # a quoted name: “文明守望工程”
                continue
        a = m.start()
        inside = next((w for w in cut if w[0] < a < w[1]), None)
        if inside is not None:  # the head ends a longer word: 头等大事
            a = inside[0]
        for s_, e_, flag in reversed([w for w in cut if w[1] <= a]):
            text = sentence[s_:e_]
            if e_ != a and not (e_ == a - 1 and sentence[a - 1] in _OPEN):
                break
            if _CLAUSE.search(text) or text in ("和", "及", "与", "、", "等") or text in _MONO_VERBS or not (
                    flag.startswith(_NOUNISH) or text in _OPEN or text in _CLOSE or flag in ("a", "m")):
                break
            a = s_
        if a < m.start():
            out.append((a, b))
    joined = []
    for a, b in out:
        if joined and re.fullmatch(r"[和及与、]", sentence[joined[-1][1]:a]):
            joined[-1] = (joined[-1][0], b)
        else:
            joined.append((a, b))
    return joined


def _balanced(text: str) -> bool:
    return all(text.count(o) == text.count(c) for o, c in zip("“‘「『《（(", "”’」』》）)"))


def _head(query: Query, right: str) -> str:
    """The noun the gap ends with: 什么大事 -> 大事, 什么安全屏障 -> 安全屏障, 哪一篇 -> 篇."""
    if query.want in ("phrase", "list", "time", "place", "person", "org") and right:
        cut = words.cut(right)
        head = ""
        for w, flag in cut[:2]:
            if not flag.startswith(("n", "vn", "an")):
                break
            head += w
        if head:
            return head
    if not right:
        m = re.search(r"哪一?([篇部项条种份类个])$", query.text[query.wh[0]:query.wh[1]])
        if m and m.group(1) != "个":
            return m.group(1)
    return ""


def _reverse(query: Query, sentence: str, anchor: tuple[int, int]) -> Candidate | None:
    """X是Y asked as Y是什么: the answer is the clause before the anchor; a pronoun there (这是…)
    points to the clause before it."""
    lo = clause_start(sentence, anchor[0])
    text, a = _trim(sentence[lo:anchor[0]], lo)
    text = re.sub(r"(?:就是|也是|都是|是|为)$", "", text)
    if text in ("这", "此", "这些", "这也", "其", "它", "这一", "这正") and lo > 0:
        lo2 = clause_start(sentence, lo - 1, SENTENCE_MARKS)
        text, a = _trim(sentence[lo2:lo - 1], lo2)
    if "、" in text and (sentence[:anchor[0]].endswith("的") or sentence[anchor[0]:anchor[0] + 1] == "的"):  # a list modifying the anchor: 努力建设|人人有责、…的
        runs = [c for c in lists(text, query) if c.end >= len(text) - 2]
        if runs:
            text, a = runs[-1].text, a + runs[-1].start
    text, a = _strip_question_words(text, a, query)
    return Candidate(text, a, a + len(text), "phrase") if 0 < len(text) <= 30 and _balanced(text) else None


#: A question that asks what something is called (叫什么, 名称是什么, 叫啥名字).
_NAMING = re.compile(r"叫(?:什么|啥)|名称|名字|称为什么|称作什么|简称")
#: Prepositions that open a frame around the question word: 以什么为牵引, 把什么作为, 对什么进行.
_FRAME = re.compile(r"(以|把|将|对|向|从|由|用|靠|凭|通过|围绕|依靠|依托)$")


def asks_name(query: Query) -> bool:
    """Whether a (Chinese) phrase question asks what something is called (answered by :func:`_named`)."""
    return query.want == "phrase" and not query.english and bool(query.wh) and bool(_NAMING.search(query.text))


def phrase_span(query: Query, sentence: str) -> Candidate | None:
    """The part of ``sentence`` that fills the question's gap (see the module docstring), after
    two readings of the question's grammar: a question that asks what something is called is
    answered by the quoted name (:func:`_named`), and a verb the span starts with is dropped when
    the question's own verb stands right before the gap (:func:`_drop_lead_verb`)."""
    if not query.wh or query.english:
        return None
    if _NAMING.search(query.text):
        return _named(query, sentence)
    two = _SECOND_GAP.match(query.right)
    if two:
        return _two_gaps(query, sentence, two)
    if _INTO_Q.search(query.text) and _TRANSITION.search(sentence):
        return _into(query, sentence)  # the sentence's own 由A向B转变 says it, or says another A's
    c = _gap_span(query, sentence)
    if c is None:
        return _construction(query, sentence)
    return _quoted_item(_drop_lead_verb(query, c))


#: A question about what A becomes (由A转变为什么, 从A变成什么): its A.
_INTO_Q = re.compile(r"(?:由|从)(?P<a>[^，。？?由从]{2,14}?)(?:转变|转型|转化|变|升级|发展|跨越|迈进)(?:为|成为?|到)(?:什么|啥)")


def _into(query: Query, sentence: str) -> Candidate | None:
    """由种质资源大省转变为什么 over 推动我省由种质资源大省向特色种业强省转变: what A becomes is the B of the
    sentence's 由A向B转变 that starts from the same A. None when the sentence has no such B (a sentence
    with no 由A向B转变 at all is left to the gap, as 由A转变为B lays over the question word for word)."""
    q = _INTO_Q.search(query.text)
    if not q:
        return None
    for m in _TRANSITION.finditer(sentence):
        inner = re.match(r"(?:由|从)(?P<a>[^，。；;：:由从向]{2,14}?)(?:向|到|迈向)(?P<b>[^，。；;：:]{2,14}?)"
                         r"(?:转变|转型|迈进|跨越|升级|转化|提升)$", m.group())
        if inner and (inner.group("a") in q.group("a") or q.group("a") in inner.group("a")):
            a = m.start() + inner.start("b")
            return Candidate(inner.group("b"), a, a + len(inner.group("b")), "phrase")
    return None


def _quoted_item(c: Candidate) -> Candidate:
    """守好什么“水塔” over 守好“华北水塔”、筑牢…屏障: a gap filled by a quoted name that runs on over 、 into a
    verb-led item has crossed into the next of a run of verb phrases (守好X、筑牢Y); the answer is the name."""
    m = re.match(r"“([^“”]{1,16})”、", c.text)
    if not m:
        return c
    rest = words.cut(c.text[m.end():])
    if not rest or not rest[0][1].startswith("v"):
        return c
    return Candidate(m.group(1), c.start + 1, c.start + 1 + len(m.group(1)), c.kind)


#: Nouns of a question that asks where something is heading (目标, 转变, 升级) or how two things stand
#: to each other (关系).
_GOAL_HEAD = re.compile(r"(?:目标|转变|转型|变化|升级|跨越|方向)$")
_RELATION_HEAD = re.compile(r"关系$")
#: 由A向B转变: a change written as a whole construction.
_TRANSITION = re.compile(r"(?:由|从)[^，。；;：:由从向]{2,14}?(?:向|到|迈向)[^，。；;：:]{2,14}?"
                         r"(?:转变|转型|迈进|跨越|升级|转化|提升)")
#: A和B良性互动: how two things stand to each other, said by the word after them.
_RELATION = re.compile(r"[\u4e00-\u9fff]{2,12}(?:和|与|同)[\u4e00-\u9fff]{2,12}?"
                       r"(良性互动|相互促进|互促共进|协调发展|融合发展|深度融合|有机统一|相统一|相协调|并重|共赢)")


def _construction(query: Query, sentence: str) -> Candidate | None:
    """What kind of 目标/转变/关系 when the sentence never uses the question's noun: a goal or a change
    is what the sentence writes as 由A向B转变 (its one such construction), a relation between two things
    the word that follows them (A和B|良性互动; among several, the one a verb such as 实现 aims at). None
    when the sentence has none, or several."""
    if query.want != "phrase":
        return None
    head = _head(query, _TRAILING_PARTICLES.sub("", query.right.lstrip("的是为了")))
    if not head or head in sentence:
        return None
    if _GOAL_HEAD.search(head):
        found = list(_TRANSITION.finditer(sentence))
        if len(found) == 1:
            m = found[0]
            return Candidate(m.group(), m.start(), m.end(), "phrase")
    if _RELATION_HEAD.search(head):
        found = list(_RELATION.finditer(sentence))
        if len(found) > 1:  # 坚持A和B并重 … 实现C和D良性互动: the relation to be reached is the one aimed at
            found = [m for m in found if re.search(r"(?:实现|形成|达到|达成|促进|推动)[^，。；]*$",
                                                   sentence[:m.start(1)])]
        if len(found) == 1:
            m = found[0]
            return Candidate(m.group(1), m.start(1), m.end(1), "phrase")
    return None


#: A second gap in the question, right after the first (坚定捍卫什么、坚决做到什么): the words between them.
_SECOND_GAP = re.compile(r"^([、，,和与及并])([^，。？?、]{2,10}?)(?:什么|啥)[？?！!。的\s]*$")


def _two_gaps(query: Query, sentence: str, m: re.Match) -> Candidate | None:
    """坚定捍卫什么、坚决做到什么 over 坚定捍卫“甲”、坚决做到“乙”，…: a question with two gaps joined by the
    words between them asks for both; the answer runs from the first gap through the sentence's copy of
    those words to the end of the second gap's clause (“甲”、坚决做到“乙”). None unless the sentence
    has the words between the gaps right after the first answer."""
    import dataclasses

    mid = m.group(1) + m.group(2)
    first = _gap_span(dataclasses.replace(query, right=mid), sentence)
    if first is None or not sentence.startswith(mid, first.end + (sentence[first.end:first.end + 1] in _CLOSE)):
        return None
    a = first.start - (first.start > 0 and sentence[first.start - 1] in _OPEN)
    nxt = _CLAUSE.search(sentence, first.end + len(mid) + 1)
    b = nxt.start() if nxt else len(sentence)
    text, a = _trim(sentence[a:b], a)
    if not (len(text) - len(mid) >= 4 and len(text) <= 40 and _balanced(text)):
        return None
    return Candidate(text, a, a + len(text), "phrase")


def _named(query: Query, sentence: str) -> Candidate | None:
    """叫什么/名称是什么: a name is what a sentence puts in quotes (开展“利剑斩污”行动 for 专项行动叫什么).
    When the question says what is named (专项行动名称, 行动叫什么), only a quoted name followed by that
    noun counts (“利剑斩污”行动, not “两山论”，); otherwise the one quoted name of the sentence, or among
    several the one next to the question's words. None when that does not single one out."""
    found = [m for m in re.finditer(r"“([^“”，。]{2,12})”", sentence)]
    before = re.sub(r"(?:的|是|叫|就|又|也|被|都)+$", "", query.text[:_NAMING.search(query.text).start()])
    cut = words.cut(before)
    if cut and cut[-1][1].startswith(("n", "vn")) and len(cut[-1][0]) >= 2:
        kind = cut[-1][0]  # 专项行动名称: the name must be a 行动's (“利剑斩污”行动, not “两山论”，)
        found = [m for m in found if sentence.startswith(kind[-2:], m.end())]
    elif len(found) > 1:
        q = query.text
        found = [m for m in found if sentence[m.end():m.end() + 2] in q or sentence[max(0, m.start() - 2):m.start()] in q]
    if len(found) != 1:
        return None
    m = found[0]
    return Candidate(m.group(1), m.start(1), m.end(1), "phrase")


def _drop_lead_verb(query: Query, c: Candidate) -> Candidate:
    """在建什么实验室 over 加紧建设全省首个…实验室, 有什么特点 over 努力建设人人有责、…: when the question's
    own verb stands right before its question word, the gap is that verb's object, so a verb (after an
    adverb such as 努力) that the span starts with is the sentence's wording of that verb, not part of
    the answer. Kept when what is left would be too short to say anything (改制化险), or starts with
    another verb; 不发生… keeps its negation (不 is not an adverb of manner)."""
    lw = words.cut(_TRAILING_PARTICLES.sub("", query.left))
    if not lw or lw[-1][1] != "v":
        return c
    cut = _cut_offsets(c.text)
    i = 0
    while i < len(cut) and cut[i][2] == "ad":
        i += 1
    if i >= len(cut) - 1 or cut[i][2] not in ("v", "vn") or cut[i][1] - cut[i][0] < 2:
        return c
    rest = c.text[cut[i][1]:]
    if len(rest) < 3 or cut[i + 1][2] in ("v", "vn", "p", "c", "d", "uj") or not _balanced(rest):
        return c
    k = cut[i][1]
    return Candidate(rest, c.start + k, c.end, c.kind, c.unit, c.context, c.items)


#: After 哪: a measure word and the kind of thing asked (哪次|会议, 哪个|部门), which the sentence names instead.
_WHICH_KIND = re.compile(r"(?:一)?[个次项条种部类家位届场批所座]?[\u4e00-\u9fff]{1,3}?(?:会议|会|部门|单位|机构|文件|活动|工程|"
                         r"项目|行动|政策|制度|战略|规划|地方|城市|企业|组织|人)")


def _gap_span(query: Query, sentence: str) -> Candidate | None:
    """The part of ``sentence`` that fills the question's gap.

    The question's text must line up with the sentence right at the gap: the anchor on the left
    has to take in the words just before the question word (or the one on the right the words
    just after it), and be at least three characters or most of that side, so a sentence that
    merely shares a word with the question yields nothing.
    """
    left = _TRAILING_PARTICLES.sub("", re.sub(r"^(?:请问|那么?|山西(?:省)?|我省)", "", query.left))
    left = re.sub(r"(?<=[\u4e00-\u9fff]{2})(?:去|来)?(?:做|干|搞)$", "", left)  # 推动农信社|做什么: "do what" is the gap
    right = _TRAILING_PARTICLES.sub("", query.right.lstrip("的是为了"))
    head = _head(query, right)
    if head and head in sentence:
        q_norm = lexical.normalize(query.text)
        nps = _noun_phrases(sentence, head)
        lft = _anchor(left, sentence, 0, len(sentence), True) if len(left) >= 2 else None
        near = _last_word_anchor(left, sentence)
        if lft is not None and near is not None and near[0] >= lft[1] and \
                any(x[0] >= near[1] for x in nps):
            lft = near  # the question's verb next to the gap, later than a longer topic match: 守住|不发生…底线
        after = [x for x in nps if lft is None or x[1] > lft[1]]
        fresh = [x for x in after if lexical.normalize(_trim(sentence[x[0]:x[1]], x[0])[0]) not in q_norm]
        if fresh:
            a, b = fresh[0]
            inst = _instance_before(sentence, a, b)
            if inst is not None:
                return inst
            gap = _cut_offsets(sentence[lft[1]:a]) if lft is not None and lft[1] <= a else []
            if lft is not None and fresh[0] == after[0] and not _CLAUSE.search(sentence[lft[1]:b]) and \
                    b - lft[1] <= 30 and not (len(gap) == 1 and (gap[0][2] == "v" or sentence[lft[1]:a] in _MONO_VERBS)):
                a = lft[1]  # from the anchor: 坚决守住|不发生…底线 (not over a lone verb: 安全生产创|历史最好水平)
            m = re.match(rf"(?:和|及|与|、)[^，。；、和]{{1,12}}?{re.escape(head)}", sentence[b:])
            if m:
                b += m.end()  # coordinated: 综合能源基地和电力外送基地
            text, a = _trim(sentence[a:b], a)
            if text and len(text) <= 30 and _balanced(text):
                return Candidate(text, a, a + len(text), "phrase")
    # 哪一条铁路沿线的生态廊道…: the words after the question word up to 的 are what the answer replaces
    m = re.match(r"[^的，。]{1,6}的(.{2,})$", right) if query.want == "phrase" else None
    if m and right[:m.start(1)] not in sentence:
        right = m.group(1)
    r = _anchor(right, sentence, 0, len(sentence), False) if len(right) >= 2 else None
    kind = _WHICH_KIND.match(right) if query.text[query.wh[0]:query.wh[1]].startswith("哪") else None
    subject = False
    if kind and (r is None or not _strong(right, sentence[r[0]:r[1]], at_end=False)):
        # 哪次会议|列专章介绍了… over 党的十九届六中全会|列专章介绍了…: the kind asked (会议) is what the
        # sentence names, so the anchor is the predicate after it
        rest = right[kind.end():]
        r2 = _anchor(rest, sentence, 0, len(sentence), False) if len(rest) >= 4 else None
        if r2 is not None and _strong(rest, sentence[r2[0]:r2[1]], at_end=False):
            right, r = rest, r2
            subject = not left
    limit = r[0] if r else len(sentence)
    lft = _anchor(left, sentence, 0, limit, True) if len(left) >= 2 else None
    if lft is not None and not _strong(left, sentence[lft[0]:lft[1]], at_end=True):
        lft = None
    if r is not None and not _strong(right, sentence[r[0]:r[1]], at_end=False):
        r = None
    if lft is None and r is not None:
        framed = _framed(query, sentence, r)
        if framed is not None:
            return framed
    if lft is None:
        lft = _last_word_anchor(left, sentence, limit, unique=True)
    if lft is None and r is None:
        return _relative_object(query, sentence)
    if lft is not None:
        a = lft[1]
    elif subject:  # the question word is the question's subject: the sentence's subject, to its clause start
        a = clause_start(sentence, r[0])
    else:
        # only the right anchor: the phrase is the noun run just before it (实施好|石太高铁|生态廊道)
        a = r[0]
        for s_, e_, flag in reversed([w for w in _cut_offsets(sentence[:r[0]])]):
            if _CLAUSE.search(sentence[s_:e_]) or not flag.startswith(_NOUNISH):
                break
            a = s_
    if r is not None and r[0] >= a:
        b = r[0]
    else:
        m = _CLAUSE.search(sentence, a)
        b = m.start() if m else len(sentence)
    if b <= a or not _trim(sentence[a:b], a)[0]:
        before = sentence[:lft[0]] if lft is not None else ""
        if lft is None or not (re.search(r"(?:是|为|有)$", query.left) or before.endswith("的")):
            return None
        return _reverse(query, sentence, lft)
    text, a = _trim(sentence[a:b], a)
    if _CLAUSE.search(text):
        text, a = _trim(text[:_CLAUSE.search(text).start()], a)
    text, a = _strip_question_words(text, a, query)
    if len(text) == 1 and r is not None and a + 1 == r[0] and right[:1] == sentence[r[0]:r[0] + 1]:
        text = sentence[a:a + 2]  # 召开什么会 over 召开全会: one character is the gap, the next the head it names
    if not text or len(text) > 20 or not _balanced(text):
        return None
    return Candidate(text, a, a + len(text), "phrase")


def _relative_object(query: Query, sentence: str) -> Candidate | None:
    """要守住的两条底线分别针对什么 over 守住外防输入、内防反弹底线: the question asks about the object of
    a verb it puts in a relative clause (V的(两条)N); the sentence says V X N, and X is the answer."""
    m = re.search(r"([\u4e00-\u9fff]{2})的(?:[一二两三四五六七八九十几\d]+[个条项种场类件大])?([\u4e00-\u9fff]{2})", query.left)
    if not m:
        return None
    verb, noun = m.group(1), m.group(2)
    vc = words.cut(verb)
    if len(vc) != 1 or vc[0][1] != "v":
        return None
    at = sentence.find(verb)
    end = sentence.find(noun, at + len(verb)) if at >= 0 else -1
    if at < 0 or end < 0 or end - at - len(verb) > 24:
        return None
    text, a = _trim(sentence[at + len(verb):end], at + len(verb))
    if len(text) < 2 or _CLAUSE.search(text) or not _balanced(text):
        return None
    return Candidate(text, a, a + len(text), "phrase")


def _last_word_anchor(left: str, sentence: str, limit: int | None = None,
                      unique: bool = False) -> tuple[int, int] | None:
    """The question's last word before the gap (增强 in …是为了增强啥), when it is a verb of two
    characters or more, where the sentence has it (the last time before ``limit``; with ``unique``
    only when it occurs once, so that a common verb anchors nothing by chance)."""
    cut = words.cut(left)
    if not cut or cut[-1][1] != "v" or len(cut[-1][0]) < 2:
        return None
    w = cut[-1][0]
    hi = len(sentence) if limit is None else limit
    at = sentence.rfind(w, 0, hi)
    if at < 0 or (unique and sentence.count(w) != 1):
        return None
    return at, at + len(w)


def _framed(query: Query, sentence: str, r: tuple[int, int]) -> Candidate | None:
    """以什么为牵引 over 以常态化扫黑除恶斗争为牵引: when the question word sits inside a prepositional
    frame (以…为, 把…作为, 对…进行), the answer is what the sentence puts between the same preposition
    and the right anchor, in the same clause (the 为 before the anchor belongs to the frame)."""
    m = _FRAME.search(query.left)
    if not m:
        return None
    lo = clause_start(sentence, r[0])
    at = sentence.rfind(m.group(1), lo, r[0])
    if at < 0:
        return None
    a, b = at + len(m.group(1)), r[0]
    raw = query.right.lstrip("的")
    for link in ("作为", "成为", "为", "作", "成"):
        if raw.startswith(link) and sentence[a:b].endswith(link):
            b -= len(link)
            break
    text, a = _trim(sentence[a:b], a)
    if not text or len(text) > 20 or not _balanced(text) or _CLAUSE.search(text):
        return None
    return Candidate(text, a, a + len(text), "phrase")


def _instance_before(sentence: str, a: int, b: int) -> Candidate | None:
    """有啥标志性工程 over 实施好石太高铁生态廊道建设等一批标志性工程: a noun phrase that only counts
    (一批…, 多项…) after 等 is the class; the instance named before 等 is the answer (the noun run
    back from 等, with its 、/和 coordinations)."""
    if not re.match(r"(?:一批|一系列|一些|多个|多项|多批|若干|[一二两三四五六七八九十\d]+[个项批条座家种])",
                    sentence[a:b]):
        return None
    if sentence[a - 1:a] != "等":
        return None
    end = a - 1
    start = end
    for s_, e_, flag in reversed(_cut_offsets(sentence[:end])):
        text = sentence[s_:e_]
        if text in ("、", "和", "及", "与") or flag.startswith(_NOUNISH) or text in _OPEN or text in _CLOSE:
            start = s_
            continue
        break
    text, start = _trim(sentence[start:end], start)
    if len(text) < 2 or len(text) > 30 or not _balanced(text):
        return None
    return Candidate(text, start, start + len(text), "phrase")


def _strong(side: str, matched: str, at_end: bool) -> bool:
    """An anchor counts when it takes in the question's words next to the gap (allowing two
    characters) and is three characters long or most of that side of the question."""
    pos = side.rfind(matched) if at_end else side.find(matched)
    if pos < 0:
        return False
    rest = side[pos + len(matched):] if at_end else side[:pos]
    near = not rest or (len(rest) == 1 and rest in "的了着过在是为有要将把被")
    return near and (len(matched) >= 3 or len(matched) >= 0.6 * len(side))


_QUOTED_KIND = r"(?:活动|行动|工程|经验|机制|制度|战略|体系|模式|工作法|品牌)"
#: English nouns of a named thing (a campaign, a project…): what a quoted name with its kind answers.
_EN_NAMED = re.compile(r"\b(?:campaigns?|activit(?:y|ies)|actions?|operations?|projects?|programm?es?|initiatives?|"
                       r"experiences?|mechanisms?|systems?|strateg(?:y|ies)|models?|brands?|called|named|name)\b", re.I)


def quoted_term(sentence: str) -> Candidate | None:
    """The quoted name of a sentence that comes with the kind of thing it names (“七进”活动), or its one
    quoted name, for English what/which questions, whose words cannot be laid over a Chinese sentence.
    None when several names qualify."""
    found = list(re.finditer(rf"“([^“”]{{2,12}})”([\u4e00-\u9fff]{{0,2}}?{_QUOTED_KIND})?", sentence))
    kinds = [m for m in found if m.group(2)]
    if len(kinds) == 1:
        return Candidate(kinds[0].group(), kinds[0].start(), kinds[0].end(), "phrase")
    if len(found) != 1 or kinds:
        return None
    m = found[0]
    return Candidate(m.group(1), m.start(1), m.end(1), "phrase")


def english_term(query: Query, sentence: str) -> Candidate | None:
    """An English what/which question about a named thing (which campaign, what is it called) is answered
    by the sentence's quoted name of that kind (:func:`quoted_term`)."""
    if query.want != "phrase" or not _EN_NAMED.search(query.text):
        return None
    return quoted_term(sentence)


#: A question about how far something has got (修好了没, 解决得咋样了, 兑现了吗).
_STATUS = re.compile(r"(?:了没有?|了吗|了么)[？?！!。\s啊呀呢]*$|得(?:咋样|怎么样|如何)|(?:咋样|怎么样)了")
#: Words that say a figure counts what is done: 均已竣工, 办结率, 兑现.
_DONE = re.compile(r"已|完成|兑现|办结|化解|解决|竣工|完工|到位|落实率|实现率")
_NOT_DONE = re.compile(r"未|没|不具备|暂不|尚|^除|(?<!拆)除.{0,20}外")  # 除12户因…暂不具备完工条件外: what is not done


def status_figure(query: Query, sentence: str) -> Candidate | None:
    """修好了没 over …受损农房900户，除12户外其余888户均已竣工: a question about how far something has got
    is answered by the one figure of the answer sentence whose clause says it counts what is done (已,
    完成, 办结, 兑现) and not that it is not (未, 暂不, 除…外). Where several do, the one whose own item
    uses the question's word for done (兑现了没 over 完成保供…、兑现率达106%). None when no figure, or
    more than one, says so."""
    done = [c for c in figures(sentence) if c.kind in ("count", "amount", "percent", "number")
            and _DONE.search(_clause(sentence, c.start, c.end, False))
            and not _NOT_DONE.search(_clause(sentence, c.start, c.end, False))]
    if len(done) > 1:  # 完成保供4356万吨、兑现率达106% for 兑现了没: the question's own word for done decides
        done = [c for c in done if any(m.group() in query.text
                                       for m in _DONE.finditer(_item_clause(sentence, c.start, c.end)))]
    if len(done) != 1:
        return None
    verb = re.search(r"([\u4e00-\u9fff]{2})(?:好|完|成)?(?:了没有?|了吗|了么|得(?:咋样|怎么样|如何)|(?:咋样|怎么样)了)",
                     query.text)
    if verb and verb.group(1) in sentence and verb.group(1) not in _clause(sentence, done[0].start, done[0].end, False):
        return None  # 回迁了吗 over …57463户均已竣工，春节前…完成回迁: the figure counts another deed
    return done[0]


def _item_clause(sentence: str, a: int, b: int) -> str:
    """The clause or list item around ``[a, b)``, from the previous mark to the figure's end."""
    lo = clause_start(sentence, a, CLAUSE_MARKS + "、")
    return sentence[lo:b]


#: Question words that ask for the manner of an action (not 为什么, which asks why, nor 怎么样, which asks
#: how something stands).
_MANNER = re.compile(r"^(?:如何|怎样|怎么|咋)$")


def manner_span(query: Query, sentence: str) -> Candidate | None:
    """党委对这项工作是如何部署的 over 党委专题会议部署了这项工作: a how-question whose subject and verb
    the sentence repeats, with a few words between them, is answered by those words (the manner:
    专题会议). The subject must open the question (up to 对/把/将/在/是), the verb must follow the
    question word, and what lies between must be short, in one clause, and more than an adverb."""
    if query.english or not query.wh or not _MANNER.match(query.text[query.wh[0]:query.wh[1]]):
        return None
    after = [(a, b, f) for a, b, f in _cut_offsets(query.text) if a == query.wh[1]]
    if not after or not after[0][2].startswith(("v", "n")) or after[0][1] - after[0][0] < 2:  # 部署 reads as n
        return None
    verb = query.text[after[0][0]:after[0][1]]
    at = sentence.find(verb)
    if at < 0 or sentence.count(verb) != 1:
        return None
    left = re.sub(r"^(?:请问|那么?)", "", query.left)
    subj = re.split(r"(?:对|把|将|在|是|又|都|究竟|到底|要|打算|准备)", left, maxsplit=1)[0]
    if len(subj) < 3:
        return None
    lo = clause_start(sentence, at)
    got = _anchor(subj, sentence, lo, at, True)
    if got is None or got[1] - got[0] < 3 or not subj.endswith(sentence[got[0]:got[1]]):
        return None
    text, a = _trim(sentence[got[1]:at], got[1])
    if not 2 <= len(text) <= 8 or _CLAUSE.search(text) or not _balanced(text):
        return None
    if all(f in ("d", "ad", "p", "c", "uj", "ul") or f.startswith("u") for _, f in words.cut(text)):
        return None  # 认真|部署, 已经|部署: an adverb says how much, not how
    return Candidate(text, a, a + len(text), "phrase")


#: Why, asked of a state that did not come about (咋还没完工, 为什么没有开工, 为何不能…).
_WHY_NOT = re.compile(r"(?:为什么|为何|为啥|咋|怎么)[^，,。？?！!]{0,8}?(?:没|未|不能|不具备|无法|难以)")
#: 因X暂不…, 由于X未…: a cause written right before the negated state it explains.
_CAUSE = re.compile(r"(?:因为|由于|因)(?P<x>[\u4e00-\u9fff“”]{2,10}?)(?:而)?(?=暂不|暂未|未能?|尚未|没有|没|不能|不具备|无法|难以)")


def reason_span(query: Query, sentence: str) -> Candidate | None:
    """咋还没完工 over 除12户因异地重建暂不具备完工条件外: why something did not happen is the cause the
    sentence writes right before the negated state (因X暂不…, 由于X未…), in the clause that says what the
    question says did not happen (its verb: 完工). None for other why-questions: the sentence answers them."""
    if query.english or not _WHY_NOT.search(query.text):
        return None
    verbs = [w for w in query.focus if len(w) >= 2]
    found = []
    for m in _CAUSE.finditer(sentence):
        clause = _clause(sentence, m.start(), m.end(), False)
        if verbs and any(v in clause for v in verbs):
            found.append(m)
    if len(found) != 1:
        return None
    m = found[0]
    return Candidate(m.group("x"), m.start("x"), m.end("x"), "phrase")


#: How two things are held together (如何兼顾A和B, 怎样把A和B结合起来).
_COMBINE_Q = re.compile(r"(?:如何|怎样|怎么|咋)(?:样)?(?:才能|来|去)?(?:把|将|让|使)?[^，。？?]{0,16}?(?:兼顾|结合|统筹|融合|协调|平衡|"
                        r"兼得|并举|统一)")
#: A与B相结合: the way a sentence says two things are held together, as one phrase.
_COMBINED = re.compile(r"[\u4e00-\u9fff]{2,10}(?:与|和|同)[\u4e00-\u9fff]{2,10}?"
                       r"(?:相结合|相统一|相协调|相融合|并重|并举|两手抓|一体推进|统筹推进)")


def combine_span(query: Query, sentence: str) -> Candidate | None:
    """如何兼顾稳产和特色 over 坚持稳粮保供与特优发展相结合: how two things are held together is the
    sentence's one 'A与B相结合' (相统一, 并重, 两手抓…), from the start of its clause (after 坚持/推动/实行…)."""
    if query.english or not _COMBINE_Q.search(query.text):
        return None
    found = []
    for m in _COMBINED.finditer(sentence):
        lo = clause_start(sentence, m.end())
        a = max(lo, m.start())
        lead = re.match(r"(?:坚持|推动|推进|实行|实施|做到|注重|坚持走|把握|突出)", sentence[a:m.end()])
        a += lead.end() if lead else 0
        found.append(Candidate(sentence[a:m.end()], a, m.end(), "phrase"))
    return found[0] if len(found) == 1 else None


def _copula_complement(sentence: str, c: Candidate) -> bool:
    """A list that is all its clause says after 是/为/包括 (山西…，又是能源大省、军工大省、…) states what the
    sentence's subject is: it answers a question tied to the sentence (哪几重身份) even though its own
    clause repeats none of the question's words."""
    lo = clause_start(sentence, c.start)
    return bool(re.fullmatch(r"(?:又|也|还|都|均|就)?(?:是|为|有|包括|包含|涵盖|分为|即)", sentence[lo:c.start]))


def short_answer(query: Query, sentences: list[str], offsets: list[int], lex: lexical.LexicalIndex,
                 first: int = 0, clause_sim=None) -> Short | None:
    """The short answer among ``sentences`` (document offsets ``offsets``), or None.

    ``first``: the answer sentence's index (preferred); ``clause_sim``: texts -> cosine with the
    question, used to rank candidates for questions in English.
    """
    if query.want in (None, "how") and _STATUS.search(query.text):
        c = status_figure(query, sentences[first])
        if c is not None:
            return Short(c.text, offsets[first] + c.start, offsets[first] + c.end, c.kind, True, first, 1.0,
                         c.context)
    if query.want is None:
        return None  # yes/no: the sentence is the answer
    if query.want == "how":  # why/how: the sentence is the answer, unless it names the reason or manner crisply
        c = reason_span(query, sentences[first]) or combine_span(query, sentences[first]) or \
            manner_span(query, sentences[first])
        return None if c is None else Short(c.text, offsets[first] + c.start, offsets[first] + c.end, "phrase",
                                            True, first)
    if query.want == "author":
        for i, sent in enumerate(sentences):
            c = byline(sent)
            if c is not None:
                if _ASKS_NAME.search(query.text) and _TITLE.fullmatch(c.text):
                    return None  # 作者叫什么名字 over （作者为省委书记）: a title is not a name
                return Short(c.text, offsets[i] + c.start, offsets[i] + c.end, "author", True, i, 1.0, sent)
        return None
    if query.typed:
        got = typed_span(query, sentences, lex, first, clause_sim if query.english else None)
        if got is not None:
            i, c, t = got
            tied = t >= TIE_MIN or query.english or not query.focus
            crisp = tied
            if c.kind == "list" and not query.english and not (query.n_items and c.items == query.n_items):
                crisp = tie(query, c.context, lex) > 0 or not query.focus or \
                    (tied and (_copula_complement(sentences[i], c) or named_kind(sentences[i], c, query)))
            return Short(c.text, offsets[i] + c.start, offsets[i] + c.end, c.kind, tied, i, t,
                         sentences[i] if c.kind == "list" else c.context, crisp)
        return None
    c = english_term(query, sentences[first]) if query.english else phrase_span(query, sentences[first])
    if c is None:
        return None
    return Short(c.text, offsets[first] + c.start, offsets[first] + c.end, "phrase", True, first)
