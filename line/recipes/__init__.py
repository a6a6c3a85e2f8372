"""Recipes and routes authored in YAML under recipes/: loading, validation and identity."""
