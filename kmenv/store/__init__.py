"""The content-addressed store: verified blobs by sha256, resumable partials, digest index, disk space, GC roots."""
