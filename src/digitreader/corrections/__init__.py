"""Corrections: what users said they wrote when a reading was wrong, kept in SQLite for fine-tuning."""
