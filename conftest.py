"""Repository-wide pytest set-up: markers and hypothesis profiles.

Profiles: ``ci`` (the default: deterministic, so a failure reproduces on every run) and
``long`` (many more random examples, for hunting bugs locally)::

    HYPOTHESIS_PROFILE=long python -m pytest tests
"""

from __future__ import annotations

import os


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: takes more than a few seconds (deselect with -m 'not slow')")
    _register_hypothesis_profiles()


def _register_hypothesis_profiles():
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:  # hypothesis is a test extra; tests that need it import it themselves
        return
    settings.register_profile(
        "ci",
        derandomize=True,
        deadline=None,
        max_examples=100,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.register_profile("long", deadline=None, max_examples=2000, print_blob=True)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
