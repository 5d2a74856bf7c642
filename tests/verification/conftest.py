"""Fixtures shared by the verification tests: the face analyser and its memo live for the
whole session, so each distinct test image has its faces found and encoded once."""

from __future__ import annotations

import pytest

from services.verification.adapters.analysis_memo import AnalysisMemo
from services.verification.adapters.imaging import FaceAnalyser


@pytest.fixture(scope="session")
def analyser():
    analyser = FaceAnalyser(processes=0)
    analyser.warm_up()
    yield analyser
    analyser.close()


@pytest.fixture(scope="session")
def analysis_memo():
    return AnalysisMemo(size=512)
