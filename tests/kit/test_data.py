"""petkit.data: the synthetic Oxford-IIIT Pets (layout, labels, determinism, safety, learnability)
and the offline behaviour of the real one. Tiny sets only: the whole file runs in seconds."""
import argparse
import re
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from petkit import data
from petkit.data import BREEDS, DataUnavailable, make_pets, read_annotations

NAME = re.compile(r"(.+)_(\d+)\.jpg$")
FEW = ("Birman", "beagle", "Abyssinian")  # not in class order on purpose: the given order is kept
PER_CLASS, SIZE = 5, 40


@pytest.fixture(scope="module")
def pets(tmp_path_factory) -> Path:
    return make_pets(tmp_path_factory.mktemp("pets") / "pets", per_class=PER_CLASS, size=SIZE, breeds=FEW)


def image_names(root: Path) -> dict[str, list[int]]:
    """breed -> its image numbers, from the file names alone."""
    found: dict[str, list[int]] = {}
    for p in sorted((root / "images").iterdir()):
        m = NAME.match(p.name)
        assert m, f"{p.name} does not look like <Breed>_<n>.jpg"
        found.setdefault(m.group(1), []).append(int(m.group(2)))
    return found


def file_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------------ breeds

def test_breeds_are_the_37_real_names_in_class_id_order():
    assert len(BREEDS) == len(set(BREEDS)) == 37
    assert list(BREEDS) == sorted(BREEDS, key=str.lower)
    assert BREEDS[:3] == ("Abyssinian", "american_bulldog", "american_pit_bull_terrier")
    assert BREEDS[-1] == "yorkshire_terrier"
    cats = [b for b in BREEDS if data.is_cat(b)]
    assert len(cats) == 12 and all(b[0].isupper() for b in cats)
    assert {"British_Shorthair", "Egyptian_Mau", "Maine_Coon", "Russian_Blue"} <= set(cats)
    assert all(b == b.lower() for b in BREEDS if b not in cats)


def test_class_ids_follow_the_real_annotations():
    assert data.class_ids("Abyssinian") == (1, data.CAT, 1)
    assert data.class_ids("american_bulldog") == (2, data.DOG, 1)
    assert data.class_ids("Bengal") == (6, data.CAT, 2)
    assert data.class_ids("yorkshire_terrier") == (37, data.DOG, 25)


def test_lookalikes_differ_from_their_model_in_exactly_one_feature():
    for breed, (model, feature) in data.LOOKALIKES.items():
        a, b = data.breed_look(breed), data.breed_look(model)
        differ = [f for f in ("species", "body", "corners", "aspect", "ears", "ear_size", "colour", "colour2",
                              "texture", "texture_scale", "texture_angle", "eye_colour")
                  if getattr(a, f) != getattr(b, f)]
        assert differ == [feature], (breed, model, differ)
        assert a.species == b.species


# ------------------------------------------------------------------------------------------ layout

def test_layout_names_and_breeds(pets):
    assert sorted(p.name for p in pets.iterdir()) == ["annotations", "images"]
    found = image_names(pets)
    assert set(found) == set(FEW)
    for breed in found:
        assert data.is_cat(breed) == (breed in ("Birman", "Abyssinian"))  # capitalised exactly
        assert len(found[breed]) == PER_CLASS


def test_numbers_are_one_based_and_sparse(pets):
    for breed, numbers in image_names(pets).items():
        assert min(numbers) >= 1 and len(set(numbers)) == len(numbers)
        assert max(numbers) > len(numbers), f"{breed}: numbers are 1..n with no gap"


def test_images_are_rgb_jpegs_of_varying_sizes_within_bounds(pets):
    sizes = set()
    for p in (pets / "images").iterdir():
        with Image.open(p) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
            assert not im.getexif()
            sizes.add(im.size)
            for side in im.size:
                assert max(data.MIN_SIDE, 0.5 * SIZE - 1) <= side <= 1.7 * SIZE + 1
    assert len({w for w, _ in sizes}) > 3 and len({h for _, h in sizes}) > 3


def test_small_size_never_goes_below_16_px(tmp_path):
    root = make_pets(tmp_path / "p", per_class=6, size=16, breeds=["pug"])
    for p in (root / "images").iterdir():
        with Image.open(p) as im:
            assert min(im.size) >= 16


# ------------------------------------------------------------------------------------- annotations

def test_annotations_agree_with_images_and_class_ids(pets):
    listed = read_annotations(pets / "annotations" / "list.txt")
    assert (pets / "annotations" / "list.txt").read_text().startswith("#")
    stems = {p.stem for p in (pets / "images").iterdir()}
    assert [s for s, *_ in listed] and {s for s, *_ in listed} == stems and len(listed) == len(stems)
    for stem, class_id, species, breed_id in listed:
        breed = stem.rsplit("_", 1)[0]
        assert BREEDS[class_id - 1] == breed
        assert species == (data.CAT if breed[0].isupper() else data.DOG)
        same_species = [b for b in BREEDS if b[0].isupper() == breed[0].isupper()]
        assert same_species[breed_id - 1] == breed
    assert list(dict.fromkeys(s.rsplit("_", 1)[0] for s, *_ in listed)) == list(FEW)


def test_trainval_and_test_split_every_breed(pets):
    listed = read_annotations(pets / "annotations" / "list.txt")
    trainval = read_annotations(pets / "annotations" / "trainval.txt")
    test = read_annotations(pets / "annotations" / "test.txt")
    assert not set(trainval) & set(test) and set(trainval) | set(test) == set(listed)
    for breed in FEW:
        assert any(s.startswith(breed + "_") for s, *_ in trainval)
        assert any(s.startswith(breed + "_") for s, *_ in test)


# ------------------------------------------------------------------------------------- determinism

def test_same_seed_same_bytes(pets, tmp_path):
    again = make_pets(tmp_path / "again", per_class=PER_CLASS, size=SIZE, breeds=FEW)
    assert file_bytes(again) == file_bytes(pets)


def test_other_seed_other_images(pets, tmp_path):
    other = make_pets(tmp_path / "other", per_class=PER_CLASS, size=SIZE, breeds=FEW, seed=1)
    ours = {p.read_bytes() for p in (pets / "images").iterdir()}
    theirs = {p.read_bytes() for p in (other / "images").iterdir()}
    assert not ours & theirs


def test_returns_out_as_a_path(tmp_path):
    out = make_pets(str(tmp_path / "p"), per_class=1, size=16, breeds=["pug"])
    assert isinstance(out, Path) and out == tmp_path / "p"


# ------------------------------------------------------------------------------------------ safety

def test_existing_images_need_overwrite(tmp_path):
    out = make_pets(tmp_path / "p", per_class=2, size=16, breeds=["pug"])
    with pytest.raises(FileExistsError, match="overwrite"):
        make_pets(out, per_class=3, size=16, breeds=["boxer"])
    assert {n.split("_")[0] for n in image_names(out)} == {"pug"}
    make_pets(out, per_class=3, size=16, breeds=["boxer"], overwrite=True)
    assert set(image_names(out)) == {"boxer"}  # replaced, not mixed


def test_other_things_in_out_are_kept(tmp_path):
    (tmp_path / "p" / "models").mkdir(parents=True)
    make_pets(tmp_path / "p", per_class=1, size=16, breeds=["pug"])
    assert (tmp_path / "p" / "models").is_dir()


def _fail_on_third_image(monkeypatch):
    calls = []
    real = data.draw_pet

    def draw_then_fail(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the worst case: not even an Exception
        return real(*args, **kwargs)
    monkeypatch.setattr(data, "draw_pet", draw_then_fail)


def test_interrupted_run_leaves_nothing(tmp_path, monkeypatch):
    _fail_on_third_image(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        make_pets(tmp_path / "p", per_class=4, size=16, breeds=["pug"])
    assert list(tmp_path.iterdir()) == []  # no images/, no temporary folder


def test_interrupted_overwrite_keeps_the_old_set(tmp_path, monkeypatch):
    out = make_pets(tmp_path / "p", per_class=2, size=16, breeds=["pug"])
    before = file_bytes(out)
    _fail_on_third_image(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        make_pets(out, per_class=4, size=16, breeds=["boxer"], overwrite=True)
    assert file_bytes(out) == before
    assert [p.name for p in tmp_path.iterdir()] == ["p"]


@pytest.mark.parametrize("kwargs, argument", [
    (dict(per_class=0), "per_class"),
    (dict(size=15), "size"),
    (dict(seed=-1), "seed"),
    (dict(breeds=["Abyssinian", "tabby"]), "breeds"),
    (dict(breeds=["abyssinian"]), "breeds"),  # cats are capitalised
    (dict(breeds=[]), "breeds"),
])
def test_bad_arguments_name_the_argument(tmp_path, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        make_pets(tmp_path / "p", **kwargs)
    assert not (tmp_path / "p").exists()


# ------------------------------------------------------------------------------------- learnable

def hellinger_histogram(path: Path, levels: int = 8) -> np.ndarray:
    rgb = np.asarray(Image.open(path).convert("RGB").resize((32, 32)), dtype=np.int64) * levels // 256
    counts = np.bincount(((rgb[..., 0] * levels + rgb[..., 1]) * levels + rgb[..., 2]).ravel(),
                         minlength=levels ** 3)
    return np.sqrt(counts / counts.sum())


def test_breeds_are_learnable_and_lookalikes_are_close(tmp_path):
    """Without a network: nearest class centroid on colour histograms beats chance by far, and the
    lookalike pairs' centroids are among the closest pairs (the confusion a CNN will show)."""
    root = make_pets(tmp_path / "p", per_class=10, size=32)

    def features(split):
        rows = read_annotations(root / "annotations" / split)
        return (np.stack([hellinger_histogram(root / "images" / f"{s}.jpg") for s, *_ in rows]),
                np.array([c - 1 for _, c, *_ in rows]))
    x_train, y_train = features("trainval.txt")
    x_test, y_test = features("test.txt")
    centroids = np.stack([x_train[y_train == c].mean(0) for c in range(37)])
    predicted = ((x_test[:, None] - centroids[None]) ** 2).sum(-1).argmin(1)
    assert (predicted == y_test).mean() > 3 / 37

    distance = np.sqrt(((centroids[:, None] - centroids[None]) ** 2).sum(-1))
    all_pairs = distance[np.triu_indices(37, 1)]
    lookalikes = [distance[BREEDS.index(a), BREEDS.index(b)] for a, (b, _) in data.LOOKALIKES.items()]
    assert np.median(lookalikes) < np.quantile(all_pairs, 0.25)


# ---------------------------------------------------------------------------------------- real pets

@pytest.fixture
def no_cached_pets(tmp_path, monkeypatch):
    """fastai's data folder is empty and the download host refuses connections."""
    monkeypatch.setenv("FASTAI_HOME", str(tmp_path / "fastai"))
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(data, "PETS_URL", f"http://127.0.0.1:{port}/oxford-iiit-pet.tgz")
    return tmp_path / "fastai"


def test_real_pets_offline_raises_one_line(no_cached_pets):
    with pytest.raises(DataUnavailable) as e:
        data.real_pets(timeout=2)
    message = str(e.value)
    assert "\n" not in message and "petkit data" in message and "no network" in message


def test_real_pets_uses_a_cached_copy_without_the_network(no_cached_pets, monkeypatch):
    images = no_cached_pets / "data" / data.PETS_FOLDER / "images"
    images.mkdir(parents=True)
    (images / "Abyssinian_1.jpg").write_bytes(b"")
    monkeypatch.setattr(data, "reachable", lambda *a: pytest.fail("asked the network"))
    assert data.real_pets() == images.parent


def test_unreachable_host_is_false_not_an_error(no_cached_pets):
    assert data.reachable(data.PETS_URL, timeout=2) is False


def test_pets_url_is_fastais():
    external = pytest.importorskip("fastai.data.external")
    assert data.PETS_URL == external.URLs.PETS
    assert data.PETS_FOLDER == external.URLs.PETS.rsplit("/", 1)[-1].removesuffix(".tgz")


# ---------------------------------------------------------------------------------------------- CLI

def parse(*argv):
    parser = argparse.ArgumentParser()
    data.add_arguments(parser)
    return parser.parse_args(argv)


def test_cli_defaults():
    args = parse()
    assert (args.out, args.per_class, args.size, args.seed, args.real, args.overwrite) == \
        ("data/pets", 20, 300, 0, False, False)


def test_run_makes_the_set_and_prints_a_summary(tmp_path, capsys):
    out = tmp_path / "pets"
    assert data.run(parse("--out", str(out), "--per-class", "1", "--size", "16")) == 0
    printed = capsys.readouterr().out
    assert "37 images" in printed and "37 breeds" in printed and str(out) in printed
    assert len(list((out / "images").iterdir())) == 37


def test_run_errors_are_one_line_without_traceback(tmp_path, capsys, no_cached_pets):
    out = tmp_path / "pets"
    make_pets(out, per_class=1, size=16, breeds=["pug"])
    capsys.readouterr()
    # (a size out of bounds is refused before run, as a usage error: tests/kit/test_data_cli.py)
    for argv, code in ((["--out", str(out)], 1), (["--real"], 1)):
        assert data.run(parse(*argv)) == code
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, (argv, err)


def test_lookalike_pairs_are_the_designed_ones_each_once():
    from petkit.data import LOOKALIKES, lookalike_pairs
    pairs = lookalike_pairs()
    assert len(pairs) == len(set(pairs)) and all(a < b for a, b in pairs)
    for copy, (model, _) in LOOKALIKES.items():
        assert tuple(sorted((copy, model))) in pairs
    # two breeds copying the same one differ in two features: confusable too
    assert ("Ragdoll", "Siamese") in pairs and ("american_bulldog", "staffordshire_bull_terrier") in pairs
    assert len(pairs) == len(LOOKALIKES) + 2
