"""Feature stages: content (Whisper, Sentence-BERT), alignment, prosody, language use, caching."""
