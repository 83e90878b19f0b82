"""kmenv: reproducible environments of Kaggle Models."""

__version__ = "0.1.0"
