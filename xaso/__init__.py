"""XãSố: the open platform of a Vietnamese smart commune."""

__version__ = "0.1.0"
