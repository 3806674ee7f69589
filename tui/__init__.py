"""The ``mlx`` command line and the full-screen Textual app.

Importing this package (and ``tui.cli``) must not import textual: the headless commands and
``mlx --help`` stay fast. Only ``tui.app`` and its screens import textual.
"""
