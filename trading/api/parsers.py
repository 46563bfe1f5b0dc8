"""The native API's JSON bodies, read strictly: a key sent twice, NaN or Infinity, or a number
longer than any figure needs is a 400 (MALFORMED_REQUEST), never a guess. Python's json module
lets the last of two keys win, so {"symbol": "BTCUSDT", "symbol": "ETHUSDT"} would place an
ETHUSDT order; the Binance facade refuses such a body too."""

import codecs
import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding

from trading.inputs import LONGEST_NUMBER


def _object_once(pairs: list) -> dict:
    """A JSON object whose keys are each sent once."""
    body = {}
    for key, value in pairs:
        if key in body:
            raise ParseError(f"The JSON body sends {key[:40]!r} twice: send each field once.")
        body[key] = value
    return body


def _counted(convert):
    """``convert`` (int or float), once the number's characters are counted: int() of 5,000
    digits raises (or, below its limit, takes time), and no figure needs more than 64."""

    def number(text: str):
        if len(text) > LONGEST_NUMBER:
            raise ParseError(
                f"A number in the JSON body has more than {LONGEST_NUMBER} characters: send "
                "figures as strings of at most 20 digits and 8 decimals."
            )
        return convert(text)

    return number


def _no_constant(name: str):
    raise ParseError(f"{name} is not a number JSON allows.")


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return json.load(
                codecs.getreader(get_encoding(parser_context or {}))(stream),
                object_pairs_hook=_object_once,
                parse_int=_counted(int),
                parse_float=_counted(float),
                parse_constant=_no_constant,
            )
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
