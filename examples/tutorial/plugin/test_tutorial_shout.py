"""Tests of the shout pass, with bchook's helpers for pass authors (bchook.testing):
``python -m pytest plugin`` from the tutorial's folder, installed or not."""

from pathlib import Path

from bchook import testing

from tutorial_shout import ShoutPass

APP = Path(__file__).resolve().parent.parent / "app.py"


def test_main_loads_its_strings_in_capitals():
    assert "HELLO, " in testing.ir_of(APP, "main", ShoutPass).consts


def test_app_prints_in_capitals():
    assert testing.run(APP, ShoutPass).stdout == "HELLO, WORLD\n"


def test_the_suffix_option():
    assert testing.run(APP, ShoutPass(suffix="!")).stdout == "HELLO, !WORLD!\n"
