"""Annotations, metrics and evaluation reports."""
