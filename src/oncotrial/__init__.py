"""oncotrial: a randomized oncology trial from protocol to published result."""

__version__ = "0.1.0"
