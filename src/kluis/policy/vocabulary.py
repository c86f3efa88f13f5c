"""The words that betray special-category data and national identifiers (R-POL-2, R-VLT-4).

The statement promises that no special-category data (GDPR Art. 9 and 10) and no citizen service number
(BSN) is processed. One vocabulary serves both places that keep that promise: the content guard reads free
text with it, and the policy check reads the names and descriptions of categories, fields and dataset
columns with it, so a category called "Verzuim" or a field called ``bsn_number`` is refused before any data
could be stored under it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

WORD = re.compile(r"[^\W_]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")

# Words that name a national identification number in a field or column name. Not markers of free text:
# "I have no BSN" holds none; a number that passes the elfproef does, and the guard looks for that.
NATIONAL_ID_TERMS = (
    "bsn", "bsnnummer", "burgerservicenummer", "sofinummer", "sofi nummer", "sofi", "ssn",
    "social security number", "social security", "citizen service number", "national id",
    "national identification number", "national identity number", "national identifier",
    "national insurance number",
)
NATIONAL_ID_LAW = "UAVG art. 46 and GDPR Art. 87"
# Dutch glues words together (verzuimregistratie, vakbondscontributie): in names, a Dutch marker of at least
# this many letters is also found inside a longer word. Shorter ones (ras, ziek) would be found everywhere.
_COMPOUND_MIN = 6


def fold(text: str) -> str:
    """Lower case without accents, so 'Ziekte', 'ZIEKTE' and 'zíekte' all match one marker."""
    if text.isascii():
        return text.lower()
    # The content guard folds a whole batch's text at once (issue 18 §8): a few distinct accents removed with
    # str.replace, rather than a test of every character in Python, is about 2.5 times faster on 9,000 records.
    folded = unicodedata.normalize("NFKD", text.casefold())
    for mark in set(folded):
        if unicodedata.combining(mark):
            folded = folded.replace(mark, "")
    return folded


def words(text: str, name: bool = False) -> list[str]:
    """The folded words of a text; underscores and hyphens separate words as spaces do, and in a ``name``
    (a field, a column, a JSON key) so does camelCase."""
    return WORD.findall(fold(_CAMEL.sub(" ", text) if name else text))


def law_of(article: str) -> str:
    """The provision a special category falls under, as a refusal cites it."""
    return f"GDPR Art. {article}"


class Vocabulary:
    """Markers matched as whole words (a phrase as consecutive words), after folding case and accents.

    ``compounds`` are single words that are also found inside a longer word (Dutch compounds), for names."""

    def __init__(self, markers: Mapping[str, Iterable[str]], compounds: Mapping[str, Iterable[str]] = {}) -> None:
        # first word -> [(the marker's words, what it betrays)]
        self._markers: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for label, terms in markers.items():
            for marker in terms:
                tokens = tuple(words(marker))
                if tokens:
                    self._markers.setdefault(tokens[0], []).append((tokens, label))
        self._compounds = [(fold(term), label) for label, terms in compounds.items() for term in terms
                           if len(fold(term)) >= _COMPOUND_MIN and len(words(term)) == 1]

    def labels(self, text: str, name: bool = False) -> list[str]:
        """What the text betrays, each once, in the order found."""
        return self.labels_of_words(words(text, name))

    def labels_of_words(self, tokens: list[str]) -> list[str]:
        found: list[str] = []
        if not self._markers.keys().isdisjoint(tokens):
            for index, token in enumerate(tokens):
                for marker, label in self._markers.get(token, ()):
                    if tuple(tokens[index:index + len(marker)]) == marker and label not in found:
                        found.append(label)
        for term, label in self._compounds:
            if label not in found and any(term in token for token in tokens):
                found.append(label)
        return found


NATIONAL_ID = "national_id"


def name_vocabulary(specials: Iterable[tuple[str, Iterable[str], Iterable[str]]]) -> Vocabulary:
    """The vocabulary for names: per special category (id, every word of it, its Dutch words), plus the
    national identifier's terms under the label ``national_id``."""
    markers: dict[str, list[str]] = {NATIONAL_ID: list(NATIONAL_ID_TERMS)}
    compounds: dict[str, list[str]] = {}
    for special_id, terms, dutch in specials:
        markers.setdefault(special_id, []).extend(terms)
        compounds.setdefault(special_id, []).extend(dutch)
    return Vocabulary(markers, compounds)
