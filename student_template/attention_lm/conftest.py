"""Lets plain `pytest` run the public tests here (`rnnkit check` does the same)."""

pytest_plugins = ["autograder.plugin"]
