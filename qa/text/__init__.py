"""Text: the shared Chinese word cut (words: jieba's tagger over an SQLite cache), read by the question
analysis, the phrase rules, the no-answer checks and follow-ups; and where qa's caches live
(words.cache_dir), which the word cut needs first and the index's model cache shares; and
once.Once, for what a process loads once and shares between threads (the lexicon, the reader).

The bottom layer: it imports nothing else of qa.
"""
