"""Package layout that pyproject.toml cannot express alone.

* ``methods/`` (one folder per adapter) is installed as the package ``srbench_methods``;
* the top-level ``datasets.yaml`` is copied into the installed ``srbench`` package.
"""

import shutil
from pathlib import Path

from setuptools import find_namespace_packages, find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent


class BuildPy(build_py):
    def run(self):
        super().run()
        target = Path(self.build_lib) / "srbench" / "datasets.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(HERE / "datasets.yaml", target)


packages = find_namespace_packages(include=["srbench", "srbench.*"], exclude=["*.__pycache__"])
packages += ["srbench_methods" + p[len("methods"):] for p in find_packages(include=["methods", "methods.*"])]

setup(
    packages=packages,
    package_dir={"srbench_methods": "methods"},
    cmdclass={"build_py": BuildPy},
)
