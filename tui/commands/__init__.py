"""Handlers of the headless ``mlx`` commands, one module per command group."""
