"""A zipped dimension put before a plain one with `order`: the order is part of what
the spec says (point i is the i-th combination in C order over the dimensions)."""

from v1model.sweep import parse_spec
from v1model.sweep.tomlio import loads_toml


def test_an_explicit_order_survives_spec_toml_and_enters_the_fingerprint(study):
    zipped = {"pair": {"label": ["a", "b", "c"], "n": [2, 3, 4]}}
    default = parse_spec({"study": study(), "sweep": {"x": [1.0, 2.0]}, "zip": zipped})
    first = parse_spec({"study": study(), "sweep": {"x": [1.0, 2.0]}, "zip": zipped,
                        "order": ["pair", "x"]})
    assert default.grid.dims == ("x", "pair") and first.grid.dims == ("pair", "x")
    # point 1: the first x at the second pair in one order, x=2.0 at the first pair in
    # the other, so one folder cannot hold both
    assert default.grid.parameters(1) == {"x": 1.0, "label": "b", "n": 3}
    assert first.grid.parameters(1) == {"x": 2.0, "label": "a", "n": 2}
    assert first.fingerprint() != default.fingerprint()
    again = parse_spec(loads_toml(first.to_toml()))
    assert again.grid.dims == ("pair", "x") and again.fingerprint() == first.fingerprint()
