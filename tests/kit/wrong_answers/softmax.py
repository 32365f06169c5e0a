"""Wrong answers to lesson `softmax` that learners really write, and the checks that catch them."""
import torch

from petkit.corpus import probe, wrong


@wrong("softmax.softmax", "no max shift: exp overflows to inf, and inf/inf is nan, for large logits",
       rejected_by=["softmax_is_a_distribution", "softmax_oracle"],
       probes=[(torch.tensor([[1e4, 9990.], [0., 1.]]),), (torch.tensor([0.5, -1., 2.]),)],
       hint='Subtract the max along dim first (x - x.max(dim, keepdim=True).values): softmax does not change, and exp never sees a number above 0.')
def softmax_no_shift(x, dim=-1):
    e = x.exp()
    return e / e.sum(dim, keepdim=True)


@wrong("softmax.softmax", "clamps the logits to avoid overflow instead of shifting them",
       rejected_by=["softmax_shift_invariant", "softmax_oracle"],
       probes=[(torch.tensor([[100., 50.], [0., 1.]]),), (torch.tensor([0.5, -1., 2.]),)],
       hint='Clamping changes the answer for logits beyond 30; subtracting the max does not, since softmax(x - c) = softmax(x).')
def softmax_clamped(x, dim=-1):
    e = x.clamp(-30, 30).exp()
    return e / e.sum(dim, keepdim=True)


@wrong("softmax.softmax", "sums over the whole tensor instead of along dim",
       rejected_by=["softmax_is_a_distribution", "softmax_oracle", "softmax_book"],
       probes=[(torch.tensor([[0., 1.], [2., 3.]]),)],
       hint='Sum along dim with keepdim=True (e.sum(dim, keepdim=True)), so that each row is divided by its own total.')
def softmax_global_sum(x, dim=-1):
    e = (x - x.max()).exp()
    return e / e.sum()


@wrong("softmax.softmax", "takes the max without keepdim, so it broadcasts along the wrong axis",
       rejected_by=["softmax_is_a_distribution", "softmax_oracle"],
       probes=[(torch.tensor([[0., 1.], [5., 3.]]),), (torch.tensor([0.5, -1., 2.]),)],
       hint='Take the max with keepdim=True (x.max(dim, keepdim=True).values), so that it broadcasts along dim, one max per row.')
def softmax_no_keepdim(x, dim=-1):
    e = (x - x.max(dim).values).exp()
    return e / e.sum(dim, keepdim=True)


@wrong("softmax.softmax", "defaults to dim=0 (over the batch) instead of the last dim",
       rejected_by=["softmax_book"],
       probes=[(torch.tensor([[0., 1.], [2., 5.]]),)],
       hint="Keep the signature's default dim=-1: the classes are the last axis.")
def softmax_default_dim0(x, dim=0):
    if not x.is_floating_point():
        raise TypeError("softmax needs a floating-point tensor")
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise ValueError(f"dim={dim} is out of range")
    e = (x - x.max(dim, keepdim=True).values).exp()
    return e / e.sum(dim, keepdim=True)


@wrong("softmax.softmax", "right maths, but no input checks: an integer tensor or a bad dim gets torch's error",
       rejected_by=["softmax_bad_input"],
       probes=[(torch.tensor([[0., 1., 2.]]),), (torch.tensor([1, 2, 3]),), probe(torch.tensor([[0., 1.]]), dim=5)],
       hint='Check the input first: raise TypeError for a tensor that is not floating point and ValueError for a dim out of range, with a message that says what was wrong.')
def softmax_unchecked(x, dim=-1):
    e = (x - x.max(dim, keepdim=True).values).exp()
    return e / e.sum(dim, keepdim=True)


@wrong("softmax.softmax", "calls torch.softmax instead of writing it",
       rejected_by=["softmax_is_a_distribution", "softmax_shift_invariant", "softmax_oracle", "softmax_book"])
def softmax_library(x, dim=-1):
    return torch.softmax(x, dim)


@wrong("softmax.softmax", "imports softmax under another name (from torch.nn.functional import softmax as sm)",
       rejected_by=["softmax_oracle"])
def softmax_library_alias(x, dim=-1):
    from torch.nn.functional import softmax as sm
    return sm(x, dim=dim)


@wrong("softmax.log_softmax", "takes the log of softmax: a probability that rounds to 0 gives -inf",
       rejected_by=["log_softmax_is_log_distribution", "log_softmax_oracle", "log_softmax_book"],
       probes=[(torch.tensor([[0., -1e4], [0., 1.]]),)],
       hint='Stay in log space: x - m - log(sum(exp(x - m))) with m the max; never take the log of a probability that can round to 0.')
def log_softmax_log_of_softmax(x, dim=-1):
    e = (x - x.max(dim, keepdim=True).values).exp()
    return (e / e.sum(dim, keepdim=True)).log()


@wrong("softmax.log_softmax", "log-sum-exp without the max shift: overflows for large logits",
       rejected_by=["log_softmax_is_log_distribution", "log_softmax_oracle"],
       probes=[(torch.tensor([[1e4, 9990.], [0., 1.]]),), (torch.tensor([0.5, -1., 2.]),)],
       hint='Shift by the max before exp: log(sum(exp(x))) = m + log(sum(exp(x - m))), and exp(x - m) never overflows.')
def log_softmax_no_shift(x, dim=-1):
    return x - x.exp().sum(dim, keepdim=True).log()


@wrong("softmax.log_softmax", "subtracts the max but forgets to add it back to the log-sum-exp",
       rejected_by=["log_softmax_is_log_distribution", "log_softmax_shift_invariant", "log_softmax_oracle"],
       probes=[(torch.tensor([[3., 1.], [0., 2.]]),)],
       hint='log(sum(exp(x))) = m + log(sum(exp(x - m))): subtract the max from x as well, or add it back to the log-sum-exp.')
def log_softmax_forgot_max(x, dim=-1):
    m = x.max(dim, keepdim=True).values
    return x - (x - m).exp().sum(dim, keepdim=True).log()


@wrong("softmax.log_softmax", "calls torch.logsumexp instead of writing the trick",
       rejected_by=["log_softmax_oracle", "log_softmax_book"])
def log_softmax_library_lse(x, dim=-1):
    return x - torch.logsumexp(x, dim, keepdim=True)


@wrong("softmax.log_softmax", "right maths, but no input checks",
       rejected_by=["log_softmax_bad_input"],
       probes=[(torch.tensor([[0., 1., 2.]]),), (torch.tensor([1, 2, 3]),), probe(torch.tensor([[0., 1.]]), dim=5)],
       hint='Check the input first: raise TypeError for a tensor that is not floating point and ValueError for a dim out of range, with a message that says what was wrong.')
def log_softmax_unchecked(x, dim=-1):
    s = x - x.max(dim, keepdim=True).values
    return s - s.exp().sum(dim, keepdim=True).log()


@wrong("softmax.sigmoid", "uses exp(x) / (1 + exp(x)) everywhere: inf/inf is nan for large x",
       rejected_by=["sigmoid_stable"],
       probes=[(torch.tensor([100., -100., 0.5]),)],
       hint='Use e = exp(-|x|), which never overflows: 1/(1+e) where x >= 0 and e/(1+e) where x < 0.')
def sigmoid_naive_ratio(x):
    if not x.is_floating_point():
        raise TypeError("sigmoid needs a floating-point tensor")
    return x.exp() / (1 + x.exp())


@wrong("softmax.sigmoid", "sign error: 1 / (1 + exp(x)) is decreasing",
       rejected_by=["sigmoid_shape", "sigmoid_oracle", "sigmoid_book"],
       probes=[(torch.tensor([2., -1., 0.]),)],
       hint='sigmoid(x) = 1/(1+exp(-x)) grows with x: sigmoid(2) is about 0.88, not 0.12.')
def sigmoid_sign_error(x):
    if not x.is_floating_point():
        raise TypeError("sigmoid needs a floating-point tensor")
    e = x.abs().neg().exp()
    return torch.where(x >= 0, e / (1 + e), 1 / (1 + e))


@wrong("softmax.sigmoid", "calls torch.sigmoid",
       rejected_by=["sigmoid_shape", "sigmoid_stable", "sigmoid_oracle", "sigmoid_book"])
def sigmoid_library(x):
    return torch.sigmoid(x)


@wrong("softmax.sigmoid", "right maths, but an integer tensor gets no TypeError",
       rejected_by=["sigmoid_bad_input"],
       probes=[(torch.tensor([2., -1., 0.]),), (torch.tensor([1, -2]),)],
       hint='Check the input first: raise TypeError for a tensor that is not floating point, with a message that says so.')
def sigmoid_unchecked(x):
    e = (-x.abs()).exp()
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


# Right maths that changes the caller's tensor in place: only "leaves its input unchanged" rejects the
# first of each pair (the checks see the input as given, so the maths checks pass it).

def _floats(x, dim=None, name="softmax"):
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"{name} needs a floating-point tensor, got {type(x).__name__}"
                        + (f" of dtype {x.dtype}" if isinstance(x, torch.Tensor) else ""))
    if dim is not None and not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise ValueError(f"dim={dim} is out of range for a tensor with {x.ndim} dims")


@wrong("softmax.softmax", "shifts the caller's logits in place (x -= x.max(...)) before the exp",
       rejected_by=["softmax_leaves_input_unchanged"])
def softmax_shifts_in_place(x, dim=-1):
    _floats(x, dim)
    x -= x.max(dim, keepdim=True).values
    e = x.exp()
    return e / e.sum(dim, keepdim=True)


@wrong("softmax.softmax", "clamps the caller's logits in place (clamp_) to avoid overflow",
       rejected_by=["softmax_leaves_input_unchanged", "softmax_oracle"])
def softmax_clamps_in_place(x, dim=-1):
    _floats(x, dim)
    e = x.clamp_(-30, 30).exp()
    return e / e.sum(dim, keepdim=True)


@wrong("softmax.log_softmax", "shifts the caller's logits in place, then takes the log-sum-exp",
       rejected_by=["log_softmax_leaves_input_unchanged"])
def log_softmax_shifts_in_place(x, dim=-1):
    _floats(x, dim, "log_softmax")
    x -= x.max(dim, keepdim=True).values
    return x - x.exp().sum(dim, keepdim=True).log()


@wrong("softmax.sigmoid", "overwrites the caller's tensor with exp(-|x|) (abs_, neg_, exp_)",
       rejected_by=["sigmoid_leaves_input_unchanged"])
def sigmoid_overwrites_input(x):
    _floats(x, name="sigmoid")
    positive = x >= 0
    e = x.abs_().neg_().exp_()
    return torch.where(positive, 1 / (1 + e), e / (1 + e))
