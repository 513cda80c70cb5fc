"""Text: the shared Chinese word cut (words), read by ranking, the answer rules and follow-ups; and
where qa's caches live (words.cache_dir), which the word cut needs first.

The bottom layer: it imports nothing else of qa.
"""
