"""kmodels.yaml: its pydantic model, the problems it can have, and comment-preserving edits.

Pure core: callers hand in the text; nothing here reads or writes a file.
"""
