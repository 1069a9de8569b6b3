"""String processing."""
import re
import unicodedata


def slugify(text: str, separator: str = "-") -> str:
    """URL slug of a title."""
    normalized = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", separator, normalized.lower()).strip(separator)


def is_palindrome(text: str) -> bool:
    letters = [c.lower() for c in text if c.isalnum()]
    return letters == letters[::-1]


def word_count(text: str) -> dict:
    counts = {}
    for word in re.findall(r"[a-z']+", text.lower()):
        counts[word] = counts.get(word, 0) + 1
    return counts


def truncate(text: str, limit: int = 10, ellipsis: str = "...") -> str:
    if limit < len(ellipsis):
        raise ValueError("limit shorter than the ellipsis")
    return text if len(text) <= limit else text[: limit - len(ellipsis)] + ellipsis


def camel_to_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def caesar(text: str, shift: int = 3) -> str:
    out = []
    for c in text:
        if c.isalpha():
            base = ord("a") if c.islower() else ord("A")
            out.append(chr((ord(c) - base + shift) % 26 + base))
        else:
            out.append(c)
    return "".join(out)


def parse_key_values(line: str, *, sep: str = ";") -> dict:
    """Parse 'a=1;b=2' into a dict; a part without '=' is an error."""
    result = {}
    for part in filter(None, line.split(sep)):
        if "=" not in part:
            raise ValueError(f"missing '=' in {part!r}")
        key, value = part.split("=", 1)
        result[key.strip()] = value.strip()
    return result


def initials(full_name: str) -> str:
    return "".join(part[0].upper() for part in full_name.split())


def count_vowels(text: str) -> int:
    return sum(1 for c in text.lower() if c in "aeiou")
