"""Ingest: reading document files into text (formats) and splitting text into chunks (chunking).

The bottom layer: it imports nothing else of qa.
"""
