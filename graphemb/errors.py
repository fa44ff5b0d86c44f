"""One exception type for every problem a user can fix.

The CLI turns it into a one-line message and a non-zero exit, never a traceback.
"""


class GraphembError(Exception):
    """A problem with the user's input, options or workspace; the message says what to do."""
