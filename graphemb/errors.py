"""One exception type for every problem a user can fix.

The CLI turns it into a one-line message and a non-zero exit, never a traceback.
"""


class GraphembError(Exception):
    """A problem with the user's input, options or workspace; the message says what to do."""


def require(module: str, extra: str, needed_for: str):
    """Import an optional dependency, or say which graphemb extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise GraphembError(f"{needed_for} needs the optional package {module.split('.')[0]}: "
                            f"pip install 'graphemb[{extra}]'.") from None


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text (libraries' messages can run to many lines)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
