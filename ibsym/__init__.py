"""ibsym -- derive, verify and export the implicit bias of optimization algorithms.

``import ibsym`` loads nothing heavy: every public name is imported on first access
(PEP 562), so ``ib.modified_equation`` pulls in SymPy and the derivation layers,
``ib.verify`` NumPy/SciPy as well, and the command line's ``--help`` none of them.
"""
__version__ = "0.1.0"

__all__ = ["modified_equation", "componentwise_equation", "ModifiedEquation", "Loss", "Optimizer", "get_optimizer",
           "losses", "verify", "VerifyReport", "implicit_bias", "bias_card", "__version__"]

#: public name -> (module, attribute or None for the module itself)
_LAZY: dict[str, tuple[str, str | None]] = {
    "modified_equation": ("ibsym.bea.procedure", "modified_equation"),
    "componentwise_equation": ("ibsym.bea.componentwise", "componentwise_equation"),
    "ModifiedEquation": ("ibsym.bea.equations", "ModifiedEquation"),
    "Loss": ("ibsym.core.losses", "Loss"),
    "Optimizer": ("ibsym.bea.optimizers", "Optimizer"),
    "get_optimizer": ("ibsym.bea.optimizers", "get_optimizer"),
    "losses": ("ibsym.core.losses", None),
    "verify": ("ibsym.numeric.verify", "verify"),
    "VerifyReport": ("ibsym.numeric.verify", "VerifyReport"),
    "implicit_bias": ("ibsym.limits.implicit", "implicit_bias"),
    "bias_card": ("ibsym.limits.card", "bias_card"),
}


def __getattr__(name: str):
    """The public names, imported on first use and then cached in the module."""
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'ibsym' has no attribute {name!r}") from None
    import importlib
    value = importlib.import_module(module)
    if attr is not None:
        value = getattr(value, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
