"""Build configuration that pyproject.toml cannot express: the optional C accelerator.

``bchook.passes.trace.runtime._accel`` is built when a C compiler and the Python headers are there;
without them the build goes on (``optional=True``) and ``bchook.trace`` records with its
pure-Python fallback.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "bchook.passes.trace.runtime._accel",
            sources=["src/bchook/passes/trace/runtime/_accel.c"],
            optional=True,
        ),
    ],
)
