"""A project's ``.kmenv`` folder: its layout and ``state.json``, generations, linking, the no-op fast path."""
