"""Answer: reading a question (query), the answer sentence (sentences), the span reader (reader), the
phrase rules for short answers (spans), the 'no answer' decision (noanswer) and follow-up questions
(followup).

It imports only qa.index and qa.text.
"""
