"""Helpers for grading the generative-mnist assignment with nbgrader."""
