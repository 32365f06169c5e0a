"""pytest binding: `--impl=PKG` (or PETKIT_IMPL) chooses the implementation the checks run against."""
import os

import pytest

# One torch (OpenMP) thread in every process of the run, as petkit's checked and graded children have
# (petkit.grading.course.GRADING_THREADS, why): selftest runs a pytest worker per core, beside the
# kernels and graders the tests start. Set before anything imports torch.
from petkit.grading.course import GRADING_THREADS  # noqa: E402 -- imports neither torch nor nbgrader

for _name, _value in GRADING_THREADS.items():
    os.environ.setdefault(_name, _value)


def pytest_addoption(parser):
    parser.addoption("--impl", default=None, metavar="PKG",
                     help="package whose functions the lesson checks test (default: $PETKIT_IMPL or 'exercises')")


def pytest_configure(config):
    from petkit.registry import lessons
    for lesson in lessons():
        config.addinivalue_line("markers", f"{lesson.id}: the checks of lesson {lesson.id}")
    config.addinivalue_line("markers", "slow: runs real training or grading (seconds to minutes)")


def pytest_collection_modifyitems(config, items):
    """The slow tests first (stable otherwise): spread over several workers (selftest's -n), the
    minutes-long ones start at once instead of ending the run on one busy worker."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_collection_finish(session):
    """The imports' and the collected tests' objects live for the whole run: out of the garbage collector's
    full passes, which scanned all of torch's (and fastai's) objects again each time (gc.freeze, as the
    warm server does before its jobs). The in-process Hypothesis checks spent a seventh of their time
    there, scanning 220,000 objects per pass: 17 right-answer tests took 38-46 s of CPU unfrozen, 34-38 s
    frozen (three runs each, interleaved)."""
    import gc
    from petkit import gcfreeze
    gc.collect()
    gcfreeze.freeze_for_good()


@pytest.fixture(scope="session")
def impl(request) -> str:
    return request.config.getoption("--impl") or os.environ.get("PETKIT_IMPL", "exercises")
