"""No special-category data and no BSN, whatever the policy calls it (R-POL-2).

A category marked ``special`` is refused, and so is one that is special without the label: a category,
field or dataset column whose name or description uses the policy's own vocabulary of special categories
(health, absence, religion, union membership, ...) or names a national identification number. The
refusal cites the law and says what to do: remove the data from the policy. Relabelling it would not make
processing it lawful, so no refusal suggests that.
"""

from __future__ import annotations

from collections.abc import Iterator

from kluis.kit.errors import Problem
from kluis.policy.schemas import Policy, SpecialCategory, Text
from kluis.policy.vocabulary import NATIONAL_ID, NATIONAL_ID_LAW, Vocabulary, law_of, name_vocabulary

UNLABELLED_LAW = "GDPR Art. 9 and 10"


def special_reason(special: SpecialCategory | None) -> str:
    """Why data of this special category (or of one unnamed) is refused: '<what>, <why>, <what to do>'."""
    what = f"{special.name.en.lower()} data" if special else "special-category data"
    law = law_of(special.article) if special else UNLABELLED_LAW
    return (f"{what}, a special category of personal data ({law}), which the statement promises benVitaal "
            "does not process: remove it from the policy")


NATIONAL_ID_REASON = (f"a national identification number (BSN), which may only be processed where a law requires "
                      f"it ({NATIONAL_ID_LAW}); the statement promises benVitaal does not process it: remove it "
                      "from the policy")


def vocabulary_of(policy: Policy) -> Vocabulary:
    specials = []
    for special in policy.special_categories:
        dutch = [*special.markers.nl, special.name.nl, *(special.terms.nl if special.terms else [])]
        english = [*special.markers.en, special.name.en, *(special.terms.en if special.terms else [])]
        specials.append((special.id, [special.id.replace("_", " "), *dutch, *english], dutch))
    return name_vocabulary(specials)


def special_names(policy: Policy) -> Iterator[Problem]:
    """Categories, fields and dataset columns that are special or a national identifier by their words."""
    vocabulary = vocabulary_of(policy)
    specials = {s.id: s for s in policy.special_categories}
    for category in policy.categories:
        at = f"categories.{category.id}"
        yield from _named(vocabulary, specials, at, category.id, category.name, category.description)
        for field in category.fields:
            yield from _named(vocabulary, specials, f"{at}.fields.{field.id}", field.id, field.name,
                              field.description)
    for dataset in policy.datasets:
        for table in dataset.tables:
            for column in table.columns:
                yield from _named(vocabulary, specials, f"datasets.{dataset.id}.tables.{table.name}.columns.{column}",
                                  column, None, None)


def _named(vocabulary: Vocabulary, specials: dict[str, SpecialCategory], at: str, item_id: str,
           name: Text | None, description: Text | None) -> Iterator[Problem]:
    """One problem for the item, at the first of its texts that gives it away."""
    texts = [("id", item_id, True)]
    for key, given in (("name", name), ("description", description)):
        if given is not None:
            texts += [(f"{key}.nl", given.nl, True), (f"{key}.en", given.en, True)]
    for key, text, is_name in texts:
        labels = vocabulary.labels(text, name=is_name)
        if NATIONAL_ID in labels:
            yield Problem(f"{at}.{key}", "national_identifier", f"'{text}' is {NATIONAL_ID_REASON}")
            return
        if labels:
            yield Problem(f"{at}.{key}", "special_category", f"'{text}' is about {special_reason(specials[labels[0]])}")
            return
