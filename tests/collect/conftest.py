import pytest

from oncotrial.protocol import load_protocol


@pytest.fixture(scope="module")
def patina():
    return load_protocol("patina")
