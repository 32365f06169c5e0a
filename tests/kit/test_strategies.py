"""The inputs the checks draw cover what the contract admits (issue 17, seen 11): 0-d tensors,
non-contiguous ones, a side of size 0; and the reference meets torch on them."""
import pytest
import torch
from hypothesis import HealthCheck, given, settings

from petkit.checks.softmax import _logits_and_dim
from solutions.softmax import log_softmax, sigmoid, softmax


def _drawn(strategy, n=300):
    seen = []

    @settings(max_examples=n, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value):
        seen.append(value)
    collect()
    return seen


def test_softmax_inputs_include_0d_empty_and_non_contiguous_tensors():
    from petkit.checks.softmax import EDGES
    seen = [x for x, _ in _drawn(_logits_and_dim())]
    assert any(x.ndim == 0 for x, _ in EDGES)  # 0-d ones are checked on every run, as fixed inputs
    assert any(x.numel() == 0 for x in seen) and any(x.numel() == 0 for x, _ in EDGES)
    assert any(not x.is_contiguous() for x in seen)


def test_the_reference_returns_an_empty_tensor_on_an_empty_dim_as_torch_does():
    for x in (torch.zeros(0), torch.zeros(3, 0)):
        for f, want in ((softmax, torch.softmax), (log_softmax, torch.log_softmax)):
            got = f(x, dim=-1)
            assert got.shape == x.shape and torch.equal(got, want(x, dim=-1))


def test_the_reference_meets_torch_within_torchs_own_half_precision_tolerances():
    """Half precision: the reference is the exact value rounded once (torch's float64 result cast
    to the dtype) within assert_close's defaults for the dtype, and torch's own half result within
    the kit's tolerance (torch's defaults, widened by the input's conditioning)."""
    from petkit.checks.expect import tolerance
    g = torch.Generator().manual_seed(0)
    for dtype in (torch.float16, torch.bfloat16):
        for scale in (1.0, 10.0):
            x = (torch.randn(64, 37, generator=g) * scale).to(dtype)
            for ours, theirs, error in ((softmax, torch.softmax, "relative"), (log_softmax, torch.log_softmax, "absolute")):
                torch.testing.assert_close(ours(x, dim=1), theirs(x.double(), dim=1).to(dtype))
                rtol, atol = tolerance(x, error=error)
                torch.testing.assert_close(ours(x, dim=1), theirs(x, dim=1), rtol=rtol, atol=atol)
            torch.testing.assert_close(sigmoid(x), torch.sigmoid(x.double()).to(dtype))


def test_a_strategy_is_made_once_per_set_of_arguments_and_a_shape_may_be_a_list_or_a_size():
    from petkit.checks import strategies as S
    assert S.logits() is S.logits() and S.classification() is S.classification()  # not validated again per draw
    assert S.tensors((2, 3), torch.float64, 5) is S.tensors([2, 3], torch.float64, 5.0) is S.tensors(torch.Size([2, 3]), torch.float64, 5)
    drawn = _drawn(S.tensors([2, 3], torch.float64, 5), n=20)
    assert {x.shape for x in drawn} == {torch.Size([2, 3])} and {x.dtype for x in drawn} == {torch.float64}
    assert all(x.abs().max() <= 5 for x in drawn) and any(x.abs().max() > 1 for x in drawn)
    listed = _drawn(S.logits(dtypes=[torch.float64]), n=20)  # a list cannot be a cache key: made afresh
    assert {x.dtype for x in listed} == {torch.float64}


def test_a_failure_is_shrunk_but_not_explained_again_and_again():
    """Hypothesis's explain phase re-runs a shrunk failure many times (here 129 calls against 24) for
    notes petkit's message does not show: a failing DataLoader check made the learner wait 9 s more."""
    from hypothesis import strategies as st
    from petkit.checks.strategies import prop
    calls = []

    @prop(st.integers(), st.integers())
    def p(a, b):
        calls.append((a, b))
        assert a < 5

    with pytest.raises(AssertionError) as failed:
        p()
    assert calls[-1] == (5, 0)  # shrunk to the simplest failure
    assert "or any other generated value" not in "".join(getattr(failed.value, "__notes__", []))
    assert len(calls) < 60, len(calls)
