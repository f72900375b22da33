"""srbench: reproducible evaluation of image super-resolution methods.

Importing this package is cheap: torch and the method adapters are imported only when a method or a
learned metric is actually used.
"""

__version__ = "0.1.0"
