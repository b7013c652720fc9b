"""Durable ingestion streams: JSON records appended to one CSV file per stream.

`records` validates and renders rows, `csvfile` owns one stream's file (header, torn-tail
repair, locked and fsync'd appends), `writer` is the background thread that group-commits
queued records, and `streams` is what the HTTP routes call (counters, history, inactivity).
"""
