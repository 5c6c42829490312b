"""One family of errors: every problem the project reports to a user is a ``DeblurTFError``.

Each kind also derives from the built-in class it used to be (ValueError / RuntimeError), so
existing ``except ValueError`` code keeps working. The CLI catches the base class alone and prints
the message as one line (``format_error``).
"""

from __future__ import annotations


class DeblurTFError(Exception):
    """Base class of the errors deblur-tf reports to its users (one clear line each)."""


def format_error(e: BaseException) -> str:
    """One line for a user: the message's first line; unknown exception kinds are named."""
    text = str(e).strip()
    line = text.splitlines()[0] if text else ""
    if isinstance(e, (DeblurTFError, FileNotFoundError)):
        return line or type(e).__name__
    return f"{type(e).__name__}: {line}" if line else type(e).__name__
