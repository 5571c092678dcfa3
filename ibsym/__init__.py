"""ibsym -- derive, verify and export the implicit bias of optimization algorithms."""
__version__ = "0.1.0"
