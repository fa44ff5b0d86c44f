import pytest


@pytest.fixture
def workdir(tmp_path):
    return tmp_path / "ws"
