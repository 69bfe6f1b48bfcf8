"""bchook's built-in passes. Each registers through the ``bchook.passes`` entry points."""
