"""petitions: reads, files and routes the letters a citizen-reception office receives."""

__version__ = "0.1.0"
