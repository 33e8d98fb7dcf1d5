"""Masking personal numbers before a question is written anywhere: 18-digit resident ID numbers (身份证号) and
11-digit mainland mobile numbers (手机号), also when written with spaces or hyphens or in full-width digits.

Pure functions. A number is masked only where it stands alone (no digit directly before or after it), so a
longer number (a bank card, an order number) is not half-masked into something misleading.
"""

from __future__ import annotations

import re

ID_MASK = "〔身份证号〕"
PHONE_MASK = "〔手机号〕"

_D = r"[0-9０-９]"
_SEP = r"[ \-－\u3000]?"
# 6-digit region, 8-digit birth date, 3-digit sequence, check digit (0-9 or X), optional separators between groups
_ID = re.compile(rf"(?<!{_D}){_D}{{6}}{_SEP}{_D}{{4}}{_SEP}?{_D}{{4}}{_SEP}{_D}{{3}}[0-9０-９XxＸｘ](?![0-9０-９A-Za-z])")
# 1, then 3-9, then 9 more digits (a +86 / 86 in front is masked with it); groups 3-4-4 with optional separators
_PHONE = re.compile(rf"(?<!{_D})(?:[+＋]?86{_SEP})?[1１][3-9３-９]{_D}{_SEP}{_D}{{4}}{_SEP}{_D}{{4}}(?!{_D})")


def mask_personal(text: str) -> str:
    """`text` with ID numbers and mobile numbers replaced by 〔身份证号〕 / 〔手机号〕."""
    if not text:
        return text
    return _PHONE.sub(PHONE_MASK, _ID.sub(ID_MASK, text))
