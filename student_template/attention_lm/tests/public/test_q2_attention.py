"""Q2 public tests: dot-product, general and additive attention. Run them with `rnnkit check`."""

import pytest

pytestmark = pytest.mark.question("attention")


@pytest.mark.points(1)
def test_dot_attention(att):
    """dot_attention with a 2-D query (N, H) and a key mask: context and weights"""
    att.attention("dot", att.attention_case("dot", N=3, S=5, Hq=4, Hk=4, Hv=2, upstream=False))


@pytest.mark.points(1)
def test_scaled_dot_attention(att):
    """dot_attention(scaled=True) with T queries per batch element (N, T, H)"""
    att.attention("dot", att.attention_case("dot", N=2, T=3, S=4, Hq=5, Hk=5, Hv=3, upstream=False), scaled=True)


@pytest.mark.points(1)
def test_general_attention(att):
    """general_attention with Hq != Hk and T queries"""
    att.attention("general", att.attention_case("general", N=2, T=4, S=5, Hq=3, Hk=6, Hv=2, upstream=False))


@pytest.mark.points(1)
def test_additive_attention(att):
    """additive_attention with a 2-D query"""
    att.attention("additive", att.attention_case("additive", N=3, S=4, Hq=2, Hk=5, Hv=3, A=6, upstream=False))


@pytest.mark.points(1)
def test_gradients(att):
    """Gradients of the query, keys, values and W through general_attention"""
    att.attention("general", att.attention_case("general", N=2, T=2, S=3, Hq=4, Hk=3, Hv=2))
