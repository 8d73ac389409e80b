"""Greets people by name: python3 greet.py "ada lovelace"."""

import sys


def tidy_name(raw: str) -> str:
    """Trim the spaces and start each word with a capital: '  ada lovelace ' -> 'Ada Lovelace'."""
    return raw.strip().capitalize()


def greet(raw_name: str) -> str:
    """The greeting for one person, or for a stranger when no name is given."""
    name = tidy_name(raw_name)
    if not name:
        return "Hello, stranger!"
    return f"Hello, {name}!"


if __name__ == "__main__":
    print(greet(" ".join(sys.argv[1:])))
