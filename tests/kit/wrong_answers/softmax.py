"""Wrong answers to lesson `softmax` that learners really write, and the checks that catch them."""
import torch

from petkit.corpus import wrong


@wrong("softmax.softmax", "no max shift: exp overflows to inf, and inf/inf is nan, for large logits",
       rejected_by=["softmax_is_a_distribution", "softmax_oracle"])
def softmax_no_shift(x, dim=-1):
    e = x.exp()
    return e / e.sum(dim, keepdim=True)


@wrong("softmax.softmax", "clamps the logits to avoid overflow instead of shifting them",
       rejected_by=["softmax_shift_invariant", "softmax_oracle"])
def softmax_clamped(x, dim=-1):
    e = x.clamp(-30, 30).exp()
    return e / e.sum(dim, keepdim=True)


@wrong("softmax.softmax", "sums over the whole tensor instead of along dim",
       rejected_by=["softmax_is_a_distribution", "softmax_oracle", "softmax_book"])
def softmax_global_sum(x, dim=-1):
    e = (x - x.max()).exp()
    return e / e.sum()


@wrong("softmax.softmax", "takes the max without keepdim, so it broadcasts along the wrong axis",
       rejected_by=["softmax_is_a_distribution", "softmax_oracle"])
def softmax_no_keepdim(x, dim=-1):
    e = (x - x.max(dim).values).exp()
    return e / e.sum(dim, keepdim=True)


@wrong("softmax.softmax", "defaults to dim=0 (over the batch) instead of the last dim",
       rejected_by=["softmax_book"])
def softmax_default_dim0(x, dim=0):
    if not x.is_floating_point():
        raise TypeError("softmax needs a floating-point tensor")
    if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
        raise ValueError(f"dim={dim} is out of range")
    e = (x - x.max(dim, keepdim=True).values).exp()
    return e / e.sum(dim, keepdim=True)


@wrong("softmax.softmax", "right maths, but no input checks: an integer tensor or a bad dim gets torch's error",
       rejected_by=["softmax_bad_input"])
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
       rejected_by=["log_softmax_is_log_distribution", "log_softmax_oracle", "log_softmax_book"])
def log_softmax_log_of_softmax(x, dim=-1):
    e = (x - x.max(dim, keepdim=True).values).exp()
    return (e / e.sum(dim, keepdim=True)).log()


@wrong("softmax.log_softmax", "log-sum-exp without the max shift: overflows for large logits",
       rejected_by=["log_softmax_is_log_distribution", "log_softmax_oracle"])
def log_softmax_no_shift(x, dim=-1):
    return x - x.exp().sum(dim, keepdim=True).log()


@wrong("softmax.log_softmax", "subtracts the max but forgets to add it back to the log-sum-exp",
       rejected_by=["log_softmax_is_log_distribution", "log_softmax_shift_invariant", "log_softmax_oracle"])
def log_softmax_forgot_max(x, dim=-1):
    m = x.max(dim, keepdim=True).values
    return x - (x - m).exp().sum(dim, keepdim=True).log()


@wrong("softmax.log_softmax", "calls torch.logsumexp instead of writing the trick",
       rejected_by=["log_softmax_oracle", "log_softmax_book"])
def log_softmax_library_lse(x, dim=-1):
    return x - torch.logsumexp(x, dim, keepdim=True)


@wrong("softmax.log_softmax", "right maths, but no input checks",
       rejected_by=["log_softmax_bad_input"])
def log_softmax_unchecked(x, dim=-1):
    s = x - x.max(dim, keepdim=True).values
    return s - s.exp().sum(dim, keepdim=True).log()


@wrong("softmax.sigmoid", "uses exp(x) / (1 + exp(x)) everywhere: inf/inf is nan for large x",
       rejected_by=["sigmoid_stable"])
def sigmoid_naive_ratio(x):
    if not x.is_floating_point():
        raise TypeError("sigmoid needs a floating-point tensor")
    return x.exp() / (1 + x.exp())


@wrong("softmax.sigmoid", "sign error: 1 / (1 + exp(x)) is decreasing",
       rejected_by=["sigmoid_shape", "sigmoid_oracle", "sigmoid_book"])
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
       rejected_by=["sigmoid_bad_input"])
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
