"""Renderers: read a RunResult, compute nothing, return text or rich renderables."""
