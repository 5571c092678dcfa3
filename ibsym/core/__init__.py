"""Foundation layer: errors, safe parsing, losses, result records, notation, progress, export.

Imports nothing else from ibsym; everything else may import it.
"""
