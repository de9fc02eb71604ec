"""Q2 hidden tests: the three attention scorings on fresh inputs, against the reference."""

import numpy as np
import pytest

from autograder.checks import CheckFailed, as_array

pytestmark = pytest.mark.question("attention")

KINDS = [("dot", False), ("dot", True), ("general", False), ("additive", False)]
IDS = ["dot", "dot_scaled", "general", "additive"]


@pytest.mark.points(1)
@pytest.mark.parametrize("kind, scaled", KINDS, ids=IDS)
def test_matches_reference(att, kind, scaled):
    """Context and weights for 2-D and 3-D queries, non-square sizes, with a key mask"""
    att.attention(kind, att.attention_case(kind, N=3, S=6, Hq=4, Hk=5, Hv=2, A=3, upstream=False), scaled)
    att.attention(kind, att.attention_case(kind, N=2, T=5, S=3, Hq=6, Hk=2, Hv=4, A=7, upstream=False), scaled)


@pytest.mark.points(1)
@pytest.mark.parametrize("kind, scaled", KINDS[1:], ids=IDS[1:])
def test_gradients(att, kind, scaled):
    """Gradients of the query, keys, values and parameters (from both context and weights)"""
    att.attention(kind, att.attention_case(kind, N=2, T=3, S=4, Hq=3, Hk=5, Hv=2, A=4), scaled)
    att.attention(kind, att.attention_case(kind, N=3, S=5, Hq=2, Hk=4, Hv=3, A=2), scaled)


@pytest.mark.points(1)
def test_padding_is_ignored(att):
    """Changing the keys and values at padded positions changes neither context nor weights"""
    for kind, scaled in KINDS:
        case = att.attention_case(kind, N=3, T=2, S=6, Hq=4, Hk=3, Hv=5, A=3, upstream=False)
        where = att.describe(kind, case, scaled)
        first = att.attention(kind, case, scaled)
        padded = ~case["mask"]
        changed = dict(case, keys=case["keys"].copy(), values=case["values"].copy())
        changed["keys"][padded] = att.normal(int(padded.sum()), case["keys"].shape[-1], scale=100.0)
        changed["values"][padded] = att.normal(int(padded.sum()), case["values"].shape[-1], scale=100.0)
        second = att.attention(kind, changed, scaled, where=where + " with other keys and values at padding")
        for key in ("context", "weights"):
            a, b = np.asarray(first[key]), np.asarray(second[key])
            if a.shape != b.shape or np.max(np.abs(a - b)) > 1e-12:
                raise CheckFailed(f"the {key} from {where} changes when only the keys and values at padded "
                                  "positions change")


@pytest.mark.points(1)
def test_edge_cases(att):
    """One key (S = 1), one query (T = 1), mask=None, and rows whose keys are all padding"""
    for kind, scaled in KINDS:
        att.attention(kind, att.attention_case(kind, N=3, S=1, Hq=2, Hk=3, Hv=4, A=2), scaled)
        att.attention(kind, att.attention_case(kind, N=2, T=1, S=4, Hq=3, Hk=2, Hv=2, A=3), scaled)
        att.attention(kind, att.attention_case(kind, N=2, T=2, S=3, Hq=3, Hk=3, Hv=2, mask=False), scaled)
        case = att.attention_case(kind, N=4, T=2, S=5, Hq=2, Hk=4, Hv=3, A=2, empty_rows=2)
        got = att.attention(kind, case, scaled, where=att.describe(kind, case, scaled)[:-1] + " and fully masked rows)")
        empty = ~case["mask"].any(axis=1)
        context = np.asarray(got["context"])
        if np.any(context[empty] != 0):
            raise CheckFailed(f"{att.describe(kind, case, scaled)}: a query whose keys are all padding should get an "
                              "all-zero context")


@pytest.mark.points(1)
def test_float32_and_inputs_kept(att, oracle):
    """float32 inputs give float32 results close to the reference's; no input is modified"""
    for kind, scaled in KINDS:
        case = att.attention_case(kind, N=2, T=3, S=4, Hq=3, Hk=4, Hv=2, A=3, upstream=False)
        where = att.describe(kind, case, scaled) + " in float32"
        got = att.call("attention", where, kind, scaled=scaled, dtype="float32", **case)
        if got.get("dtype") != "float32":
            raise CheckFailed(f"{where} gave a {got.get('dtype')} context; keep the inputs' dtype")
        rounded = {k: (v.astype(np.float32).astype(np.float64) if isinstance(v, np.ndarray) and v.dtype.kind == "f"
                       else {p: w.astype(np.float32).astype(np.float64) for p, w in v.items()}
                       if isinstance(v, dict) else v) for k, v in case.items()}
        expected = oracle.attention_attention(kind, scaled=scaled, **rounded)
        for key in ("context", "weights"):
            value = as_array(got.get(key), f"the {key} from {where}", np.shape(expected[key]))
            error = float(np.max(np.abs(value - expected[key])) / max(1e-8, float(np.max(np.abs(expected[key])))))
            if not error <= 1e-5:
                raise CheckFailed(f"the {key} from {where} is wrong: error {error:.1e} relative to its largest entry "
                                  "(allowed 1e-05)")
