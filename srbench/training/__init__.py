"""Training reference checkpoints for methods without released weights (``srbench train``).

One loop (:mod:`srbench.training.loop`), one recipe per method (``methods/<name>/train.py``, a
:class:`srbench.training.recipe.Recipe`), training data from :mod:`srbench.training.data`.
:func:`srbench.train` is :func:`srbench.training.loop.train`.
"""
