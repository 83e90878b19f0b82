"""The version of kmenv, alone in a leaf module so any module can name it without importing the package root."""

__version__ = "0.1.0"
