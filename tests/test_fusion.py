"""Ranking helpers: a chunk that is only a heading follows the passages that say something."""
from qa.answer import sentences as answer
from qa.index import fusion


def test_a_chunk_that_is_only_its_heading():
    assert answer.heading_only("二、加强社区治理", "二、加强社区治理")
    assert answer.heading_only("总则 › 三是强化保障", "三是强化保障。")
    assert not answer.heading_only("二、加强社区治理", "社区建成服务站12个。")
    assert not answer.heading_only("", "社区建成服务站12个。")


def test_headings_follow_the_passages_that_say_something():
    assert fusion.headings_last([True, False, False, False], "社区建了多少服务站？") == [1, 2, 0, 3]
    assert fusion.headings_last([True, True, False], "社区建了多少服务站？") == [2, 0, 1]
    assert fusion.headings_last([False, True, False], "社区建了多少服务站？") == [0, 2, 1]
    # a heading only as deep as the first three: the order is kept
    assert fusion.headings_last([True, True, True, False], "社区建了多少服务站？") == [0, 1, 2, 3]
    assert fusion.headings_last([False, False], "社区建了多少服务站？") == [0, 1]


def test_a_question_about_a_heading_keeps_it_first():
    assert fusion.headings_last([True, False], "文章第二部分的标题是什么？") == [0, 1]
    assert fusion.headings_last([True, False], "What is the title of the article?") == [0, 1]
