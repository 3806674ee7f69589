"""Artifact previews: what the artifacts screen shows for a version, built off the UI thread.

:mod:`tui.previews.load` reads a version (in part for arrays and frames),
:mod:`tui.previews.build` turns a value into a :class:`~tui.previews.build.Preview`,
:mod:`tui.previews.series` draws a metric across versions. None of them imports Textual;
the widget is :class:`tui.widgets.preview.PreviewPane`.
"""
