"""Screens of the mlx TUI, one per module."""
