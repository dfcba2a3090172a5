"""The matching form of people's names: no diacritics, case-folded, single spaces.

``Nguyễn Văn Đức`` and ``NGUYEN  VAN DUC`` must match on a watchlist. NFKD removes the tone and vowel
marks, but đ/Đ are letters of their own in Unicode, not d with a mark, so they are mapped by hand.
"""

import unicodedata

_UNDECOMPOSABLE = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O"})


def fold_name(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.translate(_UNDECOMPOSABLE))
    without_marks = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(without_marks.casefold().split())
