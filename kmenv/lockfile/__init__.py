"""kmodels.lock: its model, its byte-stable rendering, the declared inputs it records and staleness.

Pure core: callers hand in the text; nothing here reads or writes a file.
"""
