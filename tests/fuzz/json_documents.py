"""JSON inputs for the fuzz tests of the JSON decoders (WAN envelopes, the event report).

Random JSON documents, documents nested far deeper than any envelope, and valid envelopes with
JSON-level mutations (a field's value replaced by any JSON value, a key dropped or added, a value
buried in nesting, a key given twice, NaN let through) as well as octet-level ones.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.mutations import mutated

__all__ = ["json_fuzzed", "json_values"]

# Values that trip loose type checks: true is 1, 1.0 == 1, "" is falsy, huge integers.
_AWKWARD: st.SearchStrategy[Any] = st.sampled_from(
    [True, False, None, 0, 1, 1.0, -1, "", "1", 2**64, 10**400, float("nan"), [], {}]
)
_SCALARS = (
    _AWKWARD
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.text(min_size=60, max_size=5000)
)
json_values = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)


def _nested(levels: int, inner: Any) -> str:
    opening = "".join('{"a":' if i % 3 else "[" for i in range(levels))
    closing = "".join("}" if i % 3 else "]" for i in reversed(range(levels)))
    return opening + json.dumps(inner) + closing


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8", errors="surrogatepass")


@st.composite
def _changed(draw: st.DrawFn, valid: st.SearchStrategy[dict[str, Any]]) -> bytes:
    """A valid envelope with one JSON-level change."""
    obj = dict(draw(valid))
    key = draw(st.sampled_from(sorted(obj)))
    change = draw(st.integers(0, 4))
    if change == 0:
        obj[key] = draw(json_values)
    elif change == 1:
        del obj[key]
    elif change == 2:
        obj[draw(st.text(max_size=8))] = draw(json_values)
    elif change == 3:  # a value buried in nesting, maybe far deeper than any envelope
        levels = draw(st.integers(1, 40) | st.integers(900, 3000))
        text = _dump({k: v for k, v in obj.items() if k != key}).decode()
        return f'{text[:-1]}, "{key}": {_nested(levels, obj[key])}}}'.encode()
    else:  # the key given twice, the second time with any value
        text = _dump(obj).decode()
        return f"{text[:-1]}, {json.dumps(key)}: {json.dumps(draw(json_values))}}}".encode()
    return _dump(obj)


def json_fuzzed(valid: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[bytes]:
    """Inputs for a JSON decoder whose valid documents are `valid` (as objects)."""
    documents = valid.map(_dump)
    return st.one_of(
        st.binary(max_size=64),
        json_values.map(_dump),
        st.integers(1, 3000).map(lambda levels: _nested(levels, 1).encode()),
        documents,
        mutated(documents),
        _changed(valid),
    )
