"""Cited answers to questions, assembled only from knowledge-base records."""
