"""ibsym -- derive, verify and export the implicit bias of optimization algorithms."""
__version__ = "0.1.0"

from ibsym.bea.procedure import modified_equation
from ibsym.bea.componentwise import componentwise_equation
from ibsym.bea.equations import ModifiedEquation
from ibsym.core.losses import Loss
from ibsym.bea.optimizers import Optimizer, get_optimizer
from ibsym.numeric.verify import VerifyReport, verify
from ibsym.core import losses
from ibsym.limits.implicit import implicit_bias

__all__ = ["modified_equation", "componentwise_equation", "ModifiedEquation", "Loss", "Optimizer", "get_optimizer",
           "losses", "verify", "VerifyReport", "implicit_bias", "__version__"]
