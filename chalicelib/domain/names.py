"""Display names staff store and the pages show (named areas): a character rule.

Names are shown as text everywhere (the pages never parse them as markup), and the rule keeps what a
name can hold to what names are made of: letters of the Latin scripts with their accents (Welsh ŵ ŷ,
Irish, Polish, ... precomposed or as combining marks), digits, spaces and ordinary punctuation
(' \u2019 - . , ( ) & /). No < > " ` or other markup characters, no control or formatting characters
(bidi overrides, zero-width), no leading/trailing space; 1..100 characters.

The pattern is written with explicit ranges, not classes such as \\w, so JavaScript (the OpenAPI
document's readers) and Python read it the same way.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from chalicelib.domain.validation import describe_pattern

NAME_MAX = 100
_LETTER = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff"  # Latin-1, Extended-A/B, Additional
_MARK = "\u0300-\u036f"  # combining accents (a decomposed ŵ is w + U+0302)
_PUNCT = "'\u2019\\-.,()&/"
NAME_PATTERN = f"^[{_LETTER}0-9](?:[{_LETTER}{_MARK}0-9 {_PUNCT}]*[{_LETTER}{_MARK}0-9{_PUNCT}])?$"
NAME_RULE = ("letters (accents and Welsh letters included), digits, spaces and ordinary punctuation "
             "(' \u2019 - . , ( ) & /), starting with a letter or digit; no < > or control characters")

DisplayName = Annotated[str, Meta(min_length=1, max_length=NAME_MAX, pattern=NAME_PATTERN,
                                  description=f"1..{NAME_MAX} characters: {NAME_RULE}.")]
describe_pattern(NAME_PATTERN, NAME_RULE)
