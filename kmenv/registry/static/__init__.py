"""The static registry: a folder or HTTP(S) URL of JSON documents, and the builder that writes one."""
