"""Pipelines of the iris sample project (every module here is searched by mlx)."""
