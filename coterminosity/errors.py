"""The one exception type users see: a one-line message naming the input and what to do."""


class CotermError(Exception):
    """Bad input or an impossible request. The CLI prints ``str(err)`` and exits 2."""


class InputError(CotermError):
    """A file, row or feature that cannot be used as given."""
