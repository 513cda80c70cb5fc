"""Follow-up questions: borrowing the topic from the conversation, without a language model.

In a chat people ask ``2021年山西煤炭产量是多少？`` and then ``同比涨了多少？``, ``那去年呢？``,
``它增长了多少？`` or ``为什么？``. Each of those lacks its topic. The peers rewrite such a
question with a language model; this module does it with a few transparent rules, and the
reply shows the result (``理解为：…``) so a wrong guess is visible at once.

1. **Is it a follow-up?** A question that has a topic of its own is never rewritten: one
   that names something the documents speak of (a place, a year, a name, a document
   phrase of three characters or more) and says enough (ten characters) is complete,
   whatever it opens with. Otherwise, in a conversation a question counts as a follow-up
   when it says so: it opens with a connective or a pointing word (那, 那么, 另外, 还有,
   当时, 这, 它, 其, 他), continues with 又/还/也, ends in 呢, is a bare continuation
   (为什么？, 具体有哪些？), or is short and names nothing the documents are about. A short
   question that opens with its verb and names no time, place or name (坚持发展的是哪个经验？) has
   no subject: when there is an earlier topic it is asked of it, though it uses the documents'
   words (zero anaphora: the missing subject is the topic's); with no earlier topic it is answered
   as it is, never asked again, since alone it is an ordinary question.
2. **What is the topic?** The latest earlier question that has content the documents speak
   of, itself resolved first; greetings and chit-chat are no topic. Its parts are read off:
   the time (``2021年``, ``去年``), and the subject, the words between the time and the
   first verb or question word (``山西煤炭产量``).
3. **How does the follow-up change it?**
   * an elliptic ``X呢？``: a time replaces the time, a place the place; a noun that shares
     words with the subject replaces it (``非煤矿山呢？`` after ``山西煤矿…``); any other noun
     is the new measure, asked of the same subject (``死亡人数呢？`` ->
     ``2021年山西煤矿死亡人数是多少？``);
   * a new aspect named before 呢 with its own question (``文物这块呢，实施了啥工程？``) is asked
     within the earlier question's scope only (its time and places): the aspect replaces the
     earlier subject, and the earlier predicate would pull retrieval back to the old passage;
   * the same predicate asked again with another object (``…要围绕维护哪些安全？`` ->
     ``那要深入推进哪些斗争？``): the new predicate replaces the old one on the same subject, so the
     old object is not searched for;
   * a bare continuation is asked of the whole earlier question (``关于“…”：为什么？``);
   * anything else, a pronoun dropped, is asked after the earlier question's content
     (``同比涨了多少？`` -> ``2021年山西煤炭产量，同比涨了多少？``; ``它增长了多少？`` likewise).
     The content is the earlier question as a statement: its question word goes whole, with the
     有/是 before it and the measure word after it (``有多少户`` -> nothing, not ``有，户``), and a
     frame that only made sense with it (``以什么为牵引``; without it ``以为`` reads "thinks"). 咋
     and 啥 are question words (``咋还没完工呢？`` is a question, not a noun to substitute);
     ``其中`` is kept (it is "of which", not the pronoun 其); ``这两个数``, ``这几项`` are pronouns.
     A request for members or kinds with no noun of its own (``都包括哪几种？``) is about the earlier
     question's thing, so a circumstance of that question (``在能源安全上``) is dropped: it is not
     part of the thing and pulls retrieval to the circumstance's own passage.
4. **Nothing to borrow** (no earlier question with a topic): the follow-up is not
   answered blind; the reply asks for a complete question.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..text import words
from .query import about_the_document, incomplete_reason

#: Earlier turns looked at (most recent last).
MAX_HISTORY = 8

_TIME = re.compile(r"^(?:[0-9０-９]{4}年(?:[0-9０-９]{1,2}月)?|[今去前明]年(?:[0-9０-９]{1,2}月)?|[0-9０-９]{1,2}月|"
                   r"今年以来|近年来|当前|目前|现在)")
_LEAD = re.compile(r"^(?:那么|那|另外|此外|还有|然后|所以|请问|当时|而且|并且|同时)+")
_PRONOUNS = re.compile(r"^(?:[这那](?:[两二三四五几]|)[个项者](?:数字?|指标|数据)(?=[\u4e00-\u9fff])|这是他们|这是他|这是她|这是|它们|它|其(?![中余他它实])|该|此|这些|那些|这个|那个|这项|那项|这一|这种|那种|"
                       r"他们|她们|他|她|上述|这里|那里)")
_MARKERS = re.compile(r"^(?:那么?|另外|此外|还有|然后|当时|这|它|其|他|她|该)|(?:又|还|也)(?=[\u4e00-\u9fff])|"
                      r"呢[？?！!。\s]*$")
_ADDITIVE = re.compile(r"(?:又|还|也)(?=是|有|在|要|能|会|[\u4e00-\u9fff]{0,2}(?:多少|几|哪|什么))")
_WH = re.compile(r"多少|几|哪|什么|啥|谁|怎|咋|如何|为何|为什么|吗|是否|有没有|是不是")
_PLACE_SCOPE = re.compile(r"[我本全][省市县区国]")
_MEASURE_END = "是多少？"


@dataclass
class Resolution:
    """How a question was understood: ``text`` (None when it cannot be resolved), and whether
    it was rewritten from the conversation."""

    text: str | None
    rewritten: bool
    topic: str | None = None


def history_questions(history) -> list[str]:
    """The user's earlier questions from ``history``: a list of strings, or of Gradio-style
    messages (``{"role": "user" | "assistant", "content": ...}``), oldest first.

    Raises ValueError for anything else.
    """
    if history is None:
        return []
    if isinstance(history, (str, bytes)) or not isinstance(history, (list, tuple)):
        raise ValueError("history must be a list of earlier questions (strings) or of chat messages "
                         "({'role': 'user'|'assistant', 'content': ...}), oldest first")
    out = []
    for i, turn in enumerate(history):
        if isinstance(turn, str):
            out.append(turn)
        elif isinstance(turn, dict) and turn.get("role") in ("user", "assistant"):
            content = turn.get("content")
            if isinstance(content, list):  # Gradio may send [{"type": "text", "text": ...}]
                parts = [c.get("text", "") for c in content if isinstance(c, dict)]
                if not all(isinstance(t, str) for t in parts):
                    raise ValueError(f"history[{i}]: the text of each content part must be a string")
                content = " ".join(parts)
            if not isinstance(content, str):
                raise ValueError(f"history[{i}]: the message content must be text")
            if turn["role"] == "user":
                out.append(content)
        else:
            raise ValueError(f"history[{i}] must be a string or a message with role 'user' or 'assistant'")
    return out[-MAX_HISTORY:]


def _names_topic(text: str, contains) -> bool:
    """Whether a question names what it is about: the province, a year, a name, or a phrase
    of three characters or more that the documents use."""
    if _PLACE_SCOPE.search(text) or re.search(r"[0-9０-９]{4}年", text):
        return True
    cut = words.cut(text)
    if any(f.startswith(("ns", "nr", "nt")) and len(w) >= 2 for w, f in cut):
        return True
    chars = re.sub(r"[^\u4e00-\u9fff]", " ", text)
    for run in chars.split():
        for i in range(len(run)):
            for j in range(len(run), i + 2, -1):  # >= 3 characters
                piece = run[i:j]
                if not _WH.search(piece) and contains(piece):
                    return True
    return False


def is_followup(text: str, contains) -> bool:
    """Whether ``text``, asked in a conversation, leans on the earlier turns (see the module docstring)."""
    t = text.strip()
    if incomplete_reason(t):
        return True
    if about_the_document(t):
        return False  # 这篇文章是谁写的: its topic is the document
    if re.search(r"[a-zA-Z]{3}", t) and not re.search(r"[\u4e00-\u9fff]", t):
        return False  # English: only the explicit patterns above
    if _ADDITIVE.search(t):
        return True  # PM2.5平均浓度又是多少？: 又/还/也 carry over the earlier question's time and place
    body = _LEAD.sub("", t)
    names = _names_topic(body, contains)
    if names and len(re.sub(r"[\s？?！!。，,]", "", body)) >= 10:
        return False  # 那去年汾河秋汛转移安置了多少群众？ names its own topic, whatever it opens with
    if _MARKERS.search(t):
        return True
    return len(re.sub(r"[\s？?！!。，,]", "", t)) <= 12 and not names


def _subjectless(text: str) -> bool:
    """A short question that opens with its verb and names no time, place or name
    (坚持发展的是哪个经验？): in a conversation it is asked of the earlier topic, though it uses the
    documents' words. Alone (no earlier topic) it is answered as it is."""
    t = _LEAD.sub("", text.strip())
    core = re.sub(r"[\s？?！!。，,]", "", t)
    if not core or len(core) > 14 or not re.search(r"[\u4e00-\u9fff]", core):
        return False
    if _TIME.match(core) or re.search(r"[0-9０-９]{4}年", core) or _PLACE_SCOPE.search(core):
        return False
    cut = words.cut(core)
    if any(f.startswith(("ns", "nr", "nt", "t")) for w, f in cut):
        return False
    w, f = cut[0]
    return f.startswith("v") and w not in ("是", "叫")


def _has_content(text: str, contains) -> bool:
    """A turn the documents could be about (not a greeting)."""
    cut = [w for w, f in words.cut(text) if len(w) >= 2 and f.startswith(("n", "v", "a", "j", "l", "i", "eng"))]
    return any(contains(w) for w in cut)


def _parts(topic: str) -> tuple[str, str, str]:
    """(time, subject, rest) of a resolved question: ``2021年`` + ``山西煤炭产量`` + ``是多少？``."""
    t = topic.strip()
    m = _TIME.match(t)
    time = m.group() if m else ""
    rest = t[len(time):].lstrip("，, ")
    subject_end = 0
    pos = 0
    nouns = 0
    cut = words.cut(rest)
    place_end = 0
    for w, flag in cut:
        start = rest.find(w, pos)
        pos = start + len(w)
        if _WH.match(w):
            break
        if flag.startswith(("v", "p", "d", "r", "u", "c", "x", "y", "q", "m")) or w in ("是", "有"):
            if nouns:
                break
            continue  # only a place so far (山西在能源安全上发展新能源吗): go on to the first noun
        if flag.startswith("ns") and not nouns:
            place_end = pos
        nouns += len(w) >= 2 and not flag.startswith("ns")
        subject_end = pos
    if not nouns:
        subject_end = place_end
    subject = rest[:subject_end]
    if subject.count("“") > subject.count("”"):  # never end inside quotes
        close = rest.find("”", subject_end)
        subject_end = close + 1 if close >= 0 else subject.rfind("“")
        subject = rest[:subject_end]
    return time, subject, rest[subject_end:]


def _same_predicate(body: str, rest: str) -> bool:
    """Whether ``body`` opens with the verb or modal (要, 能, 将) that opens the earlier question's predicate
    ``rest``, 还/也/又 aside, and both ask something: a parallel question about the same subject."""
    def first(t: str) -> str:
        cut = words.cut(re.sub(r"^(?:还|也|又|都)+", "", t))
        return cut[0][0] if cut and cut[0][1].startswith("v") and cut[0][0] not in ("是", "有") else ""
    head = first(body)
    return bool(head) and head == first(rest) and bool(_WH.search(rest))


def _positions(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    for w, f in words.cut(text):
        i = text.find(w, pos)
        out.append((w, f, i))
        pos = i + len(w)
    return out


def _core(text: str) -> str:
    return re.sub(r"[？?！!。\s]+$", "", text)


def resolve(question: str, history, contains) -> Resolution:
    """How ``question`` is understood after ``history`` (earlier questions, oldest first).

    ``contains`` tells whether a phrase occurs in the documents.
    """
    earlier = history_questions(history)
    topic = None
    for turn in earlier:  # resolve each earlier turn against the ones before it
        t = turn.strip()
        if not t:
            continue
        if topic is not None and (is_followup(t, contains) or _subjectless(t)):
            t = _rewrite(t, topic) or t
        if _has_content(t, contains):
            topic = t
    text = question.strip()
    if not is_followup(text, contains):
        if topic is not None and _subjectless(text):
            rewritten = _rewrite(text, topic)
            if rewritten:
                return Resolution(rewritten, rewritten != text, topic)
        return Resolution(text, False, topic)
    if topic is None:
        return Resolution(None, False, None)
    rewritten = _rewrite(text, topic)
    if rewritten is None:
        return Resolution(None, False, topic)
    return Resolution(rewritten, rewritten != text, topic)


def _rewrite(text: str, topic: str) -> str | None:
    time, subject, rest = _parts(topic)
    body = _LEAD.sub("", text.strip())
    bare = re.sub(r"[？?！!。\s]+$", "", body)
    reason = incomplete_reason(text)
    if reason == "bare" or not bare:
        return f"关于“{_core(topic)}”：{body or text.strip()}"
    # a new aspect and a question about it (文物这块呢，实施了啥工程？): asked in the earlier question's scope
    a = _ASPECT.fullmatch(bare)
    if a and _WH.search(a.group("q")):
        return f"{_scope(topic, a.group('x'))}{a.group('x')}{a.group('m') or ''}，{a.group('q')}？"
    # an elliptic 那X呢
    m = re.fullmatch(r"(.{1,12}?)呢", bare)
    if m and _WH.search(m.group(1)):
        bare = bare[:-1]  # 要打好哪几场保卫战呢: a question of its own, 呢 is a particle
        body, m = bare + "？", None
    if m:
        frag = m.group(1)
        ft = _TIME.match(frag)
        if ft and ft.group() == frag:
            return (frag + (topic[len(time):] if time else topic)).strip()
        cut = words.cut(frag)
        if cut and all(f.startswith("ns") for _, f in cut):
            place = next((w for w, f in words.cut(subject) if f.startswith("ns")), "")
            return (topic.replace(place, frag, 1) if place else frag + topic).strip()
        shared = [w for w, _ in words.cut(subject) if len(w) >= 2 and w in frag]
        if shared and subject:
            return f"{time}{subject.replace(shared[-1], frag, 1) if shared[-1] in subject else frag}{rest}".strip()
        if re.search(r"(?:数|率|量|比例|比重|占比|额|规模|面积|人次|天数)$", frag):
            place = next((w for w, f in words.cut(subject) if f.startswith("ns")), "")
            return f"{time}{place}{frag}{_MEASURE_END}"  # a new measure of the same subject
        # another thing asked the same way (那城商行呢？ after …对农信社怎么弄？): it takes the place of
        # the earlier question's last noun before its question word
        wh = _WH.search(topic)
        head = topic[:wh.start()] if wh else _core(topic)
        nouns = [(w, i) for w, f, i in _positions(head) if f.startswith(("n", "j", "nz")) and len(w) >= 2
                 and not f.startswith("ns")]
        if nouns:
            w, i = nouns[-1]
            return topic[:i] + frag + topic[i + len(w):]
        return f"{_context(topic)}，{frag}呢？"
    # the same predicate asked of something else (…要围绕维护哪些安全？ -> 那要深入推进哪些斗争？): the new
    # predicate replaces the old one, the earlier question's subject stays
    if subject and _WH.search(bare) and _same_predicate(bare, rest):
        return f"{time}{subject}{bare}？"
    # a pronoun, or a question that lacks its topic: ask it after the earlier question's content
    p = _PRONOUNS.match(body)
    if p:
        body = body[p.end():]
    own_time = _TIME.match(body)
    context = _context(topic)
    if _ENUM.fullmatch(_core(body)):
        # 都包括哪几种？ asks for the members of the earlier question's thing; a circumstance of that question
        # (在能源安全上, 在…方面) is not part of the thing and pulls retrieval to the circumstance's passage
        context = _FRAME.sub("", context) or context
    if own_time and time and context.startswith(time):
        context = context[len(time):]
    return f"{context}，{body.lstrip('，, ')}"


#: A new aspect named before 呢 and a question about it: 文物这块呢，实施了啥工程？
_ASPECT = re.compile(r"(?P<x>[^，,？?。]{1,10}?)(?P<m>这一块|这块|这方面|方面|这边)?呢[，,]\s*(?P<q>[^，,]+)")
#: A request for the members or kinds of what was asked about, with no noun of its own: 都包括哪几种？
_ENUM = re.compile(r"(?:都|具体|主要|分别|一共|总共|又|还)*(?:包括|包含|涵盖|有|是|指)?(?:哪几|哪些|哪)"
                   r"[种类个项条样些]?(?:呢|啊|呀)?|(?:都|具体|主要|分别)*(?:包括|包含|有|是)(?:什么|啥)(?:呢|啊|呀)?")
#: A circumstance of a question (在能源安全上, 在…方面, 在…中).
_FRAME = re.compile(r"在[^，,在]{1,10}?(?:上|方面|中|领域)")


def _scope(topic: str, frag: str = "") -> str:
    """The time and the places or scope words (全省) of the earlier question, those ``frag`` names
    itself left out: what a new aspect is asked within."""
    time, _, _ = _parts(topic)
    out = [] if not time or _TIME.match(frag) else [time]
    for w, f in words.cut(topic):
        if (f.startswith("ns") and len(w) >= 2 or _PLACE_SCOPE.fullmatch(w)) and w not in frag and w not in out:
            out.append(w)
    return "".join(out)


_WH_WORDS = re.compile(r"(?:是|有)?(?:多少[个条项起次名家座件种倍天户批场处所位届]?|"
                       r"几[个条项起次人名家座件种倍年天户批场处所位届成]?|"
                       r"哪(?:一|些|几)?[个年天里儿些种项条块类]?|"
                       r"什么样的?|什么时候|什么|啥时候|啥|谁|怎么样|怎样|怎么|咋|如何|为什么|为何|是否|有没有|是不是)")


def _context(topic: str) -> str:
    """The earlier question's content as a statement: question words and end particles dropped
    (``2021年山西煤矿发生了几起生产安全死亡事故？`` -> ``2021年山西煤矿发生了生产安全死亡事故``)."""
    t = _core(topic)
    # 以什么为牵引: the frame goes with its question word (without it, 以为牵引 reads "thinks it leads")
    t = re.sub(r"(?:以|把|将|拿)(?:什么|啥|哪些|哪个|哪)(?:为|作为|当作|当成)[\u4e00-\u9fff]{0,4}$", "", t)
    t = _WH_WORDS.sub("", t)
    t = re.sub(r"[吗呢吧啊呀么嘛了]+$", "", t)
    t = re.sub(r"的$", "", t)
    return t.strip("，, ") or _core(topic)
