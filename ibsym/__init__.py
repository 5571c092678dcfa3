"""ibsym -- derive, verify and export the implicit bias of optimization algorithms."""
__version__ = "0.1.0"

from .bea import modified_equation
from .componentwise import componentwise_equation
from .equations import ModifiedEquation
from .losses import Loss
from .optimizers import Optimizer, get_optimizer
from .verify import VerifyReport, verify
from . import losses

__all__ = ["modified_equation", "componentwise_equation", "ModifiedEquation", "Loss", "Optimizer", "get_optimizer",
           "losses", "verify", "VerifyReport", "__version__"]
