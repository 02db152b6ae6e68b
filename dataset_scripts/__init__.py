"""Corpus-specific builders and converters on top of :mod:`modeling_asa.data` (demo corpus, GEPT folders)."""
