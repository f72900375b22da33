"""Method adapters shipped with srbench (installed as the package ``srbench_methods``).

One sub-package per method family; each ``__init__.py`` defines ``METHODS`` (a list of
``srbench.method_api.MethodInfo``) and imports nothing heavy. The network code lives in other modules
of the sub-package, imported by the ``loader``.
"""
