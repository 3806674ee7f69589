"""Widgets of the mlx TUI, one per module."""
