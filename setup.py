"""Package layout that pyproject.toml cannot express alone: the top-level ``derivations/``
scripts ship inside the wheel as ``ibsym._derivations`` (``ibsym reproduce`` finds them there
in a non-editable install).  Everything else is in pyproject.toml."""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["ibsym", "ibsym.*"]) + ["ibsym._derivations"],
    package_dir={"ibsym._derivations": "derivations"},
)
