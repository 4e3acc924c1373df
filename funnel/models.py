"""Funnel stages and each lead's stage history."""
