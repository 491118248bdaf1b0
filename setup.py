"""Package discovery: everything under metarec/ and metafeatures/, plus cli/ as ``metarec.cli``.

Metadata lives in pyproject.toml; only what pyproject cannot express (a folder installed under
another package's name, next to auto-discovered sub-packages) is here.
"""

from setuptools import find_packages, setup

packages = find_packages(include=["metarec", "metarec.*", "metafeatures", "metafeatures.*"])
packages += ["metarec.cli"] + [f"metarec.cli.{p}" for p in find_packages("cli")]

setup(packages=packages, package_dir={"metarec.cli": "cli"})
