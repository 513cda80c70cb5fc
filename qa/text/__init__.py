"""Text: the shared Chinese word cut (words: jieba's tagger over an SQLite cache), read by the question
analysis, the phrase rules, the no-answer checks and follow-ups; and once.Once, for what a process
loads once and shares between threads (the lexicon, the reader).

It imports only qa.config, the settings every layer reads.
"""
