"""Thin views, one module per resource: parse with an input serializer, call one service or selector,
render with an output serializer."""
