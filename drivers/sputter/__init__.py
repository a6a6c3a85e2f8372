"""Sputter (PVD cluster): degas, Ar pre-clean, DC magnetron deposition of a layer stack."""
