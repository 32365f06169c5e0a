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


@pytest.fixture(scope="session")
def impl(request) -> str:
    return request.config.getoption("--impl") or os.environ.get("PETKIT_IMPL", "exercises")
