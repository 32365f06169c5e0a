import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """The PostgreSQL server (the pgserver wheel, a dependency) the whole run shares: started by the first
    test that asks, in whichever pytest-xdist worker, and stopped, its folder deleted, when the last worker
    holding it ends (pgserver counts the processes that hold it). One start per run, not one per test."""
    pgserver = pytest.importorskip("pgserver", reason="PostgreSQL could not be installed here (the pgserver "
                                                      "wheel, a dependency in pyproject.toml, does not import)")
    import tempfile
    from filelock import FileLock
    from helpers import built_once, run_folder

    def new_folder(_):
        # PostgreSQL runs as another user when the suite runs as root: its folder must be reachable,
        # which pytest's own (mode 700) is not
        folder = Path(tempfile.mkdtemp(prefix="petkit-pg-"))
        folder.chmod(0o755)
        return str(folder)
    folder = Path(built_once(tmp_path_factory, "postgres", new_folder)[1])
    lock = FileLock(str(run_folder(tmp_path_factory) / "postgres-server.lock"))
    with lock:  # no worker's start while another's end deletes the folder
        folder.mkdir(exist_ok=True)
        server = pgserver.get_server(folder / "data", cleanup_mode="delete")
    yield server
    with lock:
        server.cleanup()
        try:
            folder.rmdir()  # the last one out: its data is gone
        except OSError:
            pass


@pytest.fixture
def postgres_url(postgres_server):
    """The URL of a database of this test's own on the run's PostgreSQL server."""
    import uuid
    name = f"petkit_{uuid.uuid4().hex[:12]}"
    postgres_server.psql(f"CREATE DATABASE {name};")
    return postgres_server.get_uri(name)


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """The softmax class (softmax_class.py) graded once for the whole run, all xdist workers: (its course
    folder, what `petkit grade all` printed). The tests only read it; one that grades again works on a copy."""
    from helpers import built_once
    from softmax_class import grade_the_class
    folder, stdout = built_once(tmp_path_factory, "graded-softmax-class", grade_the_class)
    return folder / "course", stdout
