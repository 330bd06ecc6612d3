"""Exceptions a user can hit. Each message names the file, column or field and says what to do."""

from __future__ import annotations


class SeismoError(Exception):
    """Base class of every error seismo raises on purpose."""


class InputError(SeismoError, ValueError):
    """The data or a file handed to seismo cannot be used as it is.

    The CLI prints the message on one line and exits with status 2; the HTTP API answers 4xx.
    """


class SchemaError(InputError):
    """A schema (from Python or a YAML/JSON file) is invalid or does not fit the data."""


class ProfileMismatchError(SeismoError, ValueError):
    """Two profiles that do not describe the same column on the same grid were combined."""
