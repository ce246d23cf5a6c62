"""Exports that travel: archive files, a pipe between two processes, fsspec URLs.

Every form round-trips production into the dev database with the real commands; an
archive that is damaged or built to attack the extraction is refused with one line
before the reset, and the dev database stays as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.server
import io
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.core.files.storage import storages
from django.core.management.base import CommandError
from django.db import connections
from test_manifest import NOON, export_a_strategy_then_drop_it, make_polls

from devdata_core import stores
from sitefixtures import OLD_DEV_QUESTIONS, dev_questions
from sitetools import cli_environ
from testsite.polls.models import Choice, Question


def export_to(site, dest, *args, **options):
    return site._call("devdata_export", str(dest), *args, database=site.src, **options)


def import_from(site, src, *args, **options):
    options.setdefault("interactive", False)
    site.imported = True
    return site._call("devdata_import", str(src), *args, database=site.dev, **options)


def subprocess_imported(site):
    """After an import in another process: this one's connections may still see the
    database file that import replaced."""
    site.imported = True
    connections.close_all()


def members(path):
    with tarfile.open(path) as tar:
        return [(m.name, m.type) for m in tar.getmembers()]


@pytest.mark.parametrize("name", ["shop.tar", "shop.tar.gz", "shop.tgz", "shop.tar.zst"])
def test_an_export_round_trips_through_an_archive_file(site, tmp_path, name):
    make_polls(site)
    archive = tmp_path / name

    output = export_to(site, archive)

    assert f"to {archive}" in output.stdout
    assert sorted(p.name for p in tmp_path.iterdir() if "shop" in p.name) == [name]
    if not name.endswith(".zst"):
        listed = members(archive)
        assert listed[0] == ("manifest.json", tarfile.REGTYPE)
        assert {n for n, _ in listed} >= {"polls.Question/all.jsonl", "migrations.json"}
        assert {t for _, t in listed} == {tarfile.REGTYPE}
    checked = site.cli("devdata_import", "--check", str(archive))
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith(f"OK: {archive}: ")
    import_from(site, archive)
    assert site.pks(Question) == {1, 2, 3}
    assert len(site.pks(Choice)) == 9


def test_format_chooses_the_archive_whatever_the_name(site, tmp_path):
    make_polls(site, questions=1, choices=0)
    archive = tmp_path / "nightly"

    export_to(site, archive, format="tar.zst")

    assert archive.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"
    # The import reads the format from the first bytes, not from the name.
    import_from(site, archive)
    assert site.pks(Question) == {1}


@pytest.mark.databases_only("sqlite")
def test_an_archive_is_written_whole_or_not_at_all(site, tmp_path):
    make_polls(site)
    archive = tmp_path / "shop.tar.gz"
    export_to(site, archive)
    before = archive.read_bytes()
    Question.objects.using(site.src).create(pk=4, question_text="q4", pub_date=NOON)
    marker = tmp_path / "paused"
    # The export stages in TMPDIR: what the killed one staged there goes with the next.
    scratch = tmp_path / "tmp"
    scratch.mkdir()

    export = site.start_cli(
        "devdata_export",
        str(archive),
        "--database",
        site.src,
        "--settings",
        "testsite.settings_pausing",
        DEVDATA_TEST_PAUSE="row",
        DEVDATA_TEST_MARKER=str(marker),
        TMPDIR=str(scratch),
    )
    site.wait_for_file(marker, export)
    export.send_signal(signal.SIGKILL)
    export.wait(timeout=30)
    export.stdout.close()
    export.stderr.close()

    assert archive.read_bytes() == before
    assert list(scratch.iterdir()) != []
    exported = site.cli("devdata_export", str(archive), "--database", site.src, TMPDIR=str(scratch))
    assert exported.returncode == 0, exported.stderr
    assert list(scratch.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir() if "shop" in p.name) == ["shop.tar.gz"]
    import_from(site, archive)
    assert site.pks(Question) == {1, 2, 3, 4}


@contextlib.contextmanager
def packing(site, archive, scratch):
    """A ``devdata_export archive`` process, held in the middle of packing: ``stop(signal)``
    ends it there and returns the bytes it had packed."""
    export = site.start_cli(
        "devdata_export", str(archive), "--database", site.src, TMPDIR=str(scratch)
    )
    # The export packs into .shop.tar.<its pid>.partial. Made a pipe first, of one page,
    # that name holds the export in the middle of its first tar record (10 KiB) until
    # it is stopped: the signal lands while it packs, never before or after.
    partial = archive.with_name(f".{archive.name}.{export.pid}.partial")
    os.mkfifo(partial)
    packed = os.open(partial, os.O_RDONLY | os.O_NONBLOCK)

    def stop(signum):
        # Read on while it ends: a run that cleans up flushes what it had buffered.
        export.send_signal(signum)
        head, deadline = b"", time.monotonic() + 30
        while export.poll() is None and time.monotonic() < deadline:
            if select.select([packed], [], [], 0.1)[0]:
                head += os.read(packed, 1 << 16)
        with contextlib.suppress(BlockingIOError):
            head += os.read(packed, 1 << 16)
        return head

    try:
        fcntl.fcntl(packed, fcntl.F_SETPIPE_SZ, 4096)
        deadline = time.monotonic() + 120
        while not select.select([packed], [], [], 0.1)[0]:
            assert export.poll() is None and time.monotonic() < deadline, "it never packed"
        assert export.poll() is None, "it ended before the signal"
        yield export, partial, stop
    finally:
        export.kill()
        os.close(packed)
        export.communicate(timeout=30)


needs_pipe_size = pytest.mark.skipif(
    not hasattr(fcntl, "F_SETPIPE_SZ"), reason="needs Linux's F_SETPIPE_SZ"
)


@pytest.mark.databases_only("sqlite")
@needs_pipe_size
def test_an_export_killed_while_packing_leaves_the_archive_and_the_next_removes_its_partial(
    site, tmp_path
):
    make_polls(site)
    archive = tmp_path / "shop.tar"
    export_to(site, archive)
    before = archive.read_bytes()
    Question.objects.using(site.src).create(pk=4, question_text="q4", pub_date=NOON)
    scratch = tmp_path / "tmp"
    scratch.mkdir()

    with packing(site, archive, scratch) as (_, partial, stop):
        head = stop(signal.SIGKILL)

    assert head.startswith(b"manifest.json\0")  # the archive's first member, cut short
    assert archive.read_bytes() == before
    assert partial.exists()
    exported = site.cli("devdata_export", str(archive), "--database", site.src, TMPDIR=str(scratch))
    assert exported.returncode == 0, exported.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if "shop" in p.name) == ["shop.tar"]
    assert list(scratch.iterdir()) == []
    import_from(site, archive)
    assert site.pks(Question) == {1, 2, 3, 4}


@pytest.mark.databases_only("sqlite")
@needs_pipe_size
def test_a_terminated_export_cleans_up_at_once_and_says_so_in_one_line(site, tmp_path):
    """SIGTERM (a pod being stopped, timeout) ends the run as Ctrl-C does: the anonymised
    dataset in TMPDIR and the partial archive go at once, not at the next run."""
    make_polls(site)
    archive = tmp_path / "shop.tar"
    export_to(site, archive)
    before = archive.read_bytes()
    scratch = tmp_path / "tmp"
    scratch.mkdir()

    with packing(site, archive, scratch) as (export, partial, stop):
        stop(signal.SIGTERM)
        stdout, stderr = export.communicate(timeout=30)

    assert (export.returncode, stdout) == (1, b"")
    assert "Traceback" not in stderr.decode()
    assert stderr.decode().splitlines()[-1] == (
        "CommandError: devdata_export stopped by SIGTERM before it finished; its temporary "
        "files and databases were removed"
    )
    assert archive.read_bytes() == before
    assert not partial.exists()
    assert list(scratch.iterdir()) == []


@pytest.mark.databases_only("sqlite")
def test_an_archive_export_refuses_to_keep_files_of_an_earlier_export(site, tmp_path):
    with pytest.raises(CommandError) as error:
        export_to(site, tmp_path / "shop.tar.gz", no_update=True)

    assert str(error.value) == (
        f"devdata_export {tmp_path / 'shop.tar.gz'}: an archive is written whole: export all "
        "models, without --no-update (or export to a directory); nothing was written"
    )
    assert list(tmp_path.iterdir()) == []


# A pipe between two processes ----------------------------------------------------


def pipe(export_args, import_args):
    """``devdata_export ... | devdata_import ...`` as two processes; their results."""
    environ = cli_environ()
    django = [sys.executable, "-m", "django"]
    export = subprocess.Popen(
        [*django, "devdata_export", *export_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environ,
    )
    imported = subprocess.run(
        [*django, "devdata_import", *import_args],
        stdin=export.stdout,
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
    )
    export.stdout.close()
    exported = export.stderr.read().decode()
    export.stderr.close()
    return export.wait(timeout=60), exported, imported


def test_an_export_streams_through_a_pipe_into_an_import(site):
    make_polls(site)
    Question.objects.using(site.src).filter(pk=2).update(question_text="piped")

    code, exported, imported = pipe(
        ["-", "--format", "tar.zst", "--database", site.src],
        ["-", "--no-input", "--database", site.dev],
    )

    assert code == 0, exported
    assert imported.returncode == 0, imported.stderr
    summary = exported.splitlines()[-1]
    assert summary.startswith("Exported ") and summary.endswith(" to stdout"), exported
    assert imported.stdout.splitlines()[-1].startswith("Imported "), imported.stdout
    subprocess_imported(site)
    assert site.pks(Question) == {1, 2, 3}
    assert Question.objects.using(site.dev).get(pk=2).question_text == "piped"


@pytest.mark.databases_only("sqlite")
def test_stdout_carries_only_the_archive(site, tmp_path):
    """Not even what a plugin prints as it loads, before the export starts."""
    make_polls(site, questions=1, choices=1)
    (tmp_path / "chatty.py").write_text("print('chatty loaded')\n")
    (tmp_path / "chatty_settings.py").write_text(
        "from testsite.settings import *\nDEVDATA_PLUGINS = ['chatty']\n"
    )

    result = subprocess.run(
        [sys.executable, "-m", "django", "devdata_export", "-", "-v", "2"],
        capture_output=True,
        env=cli_environ(
            DJANGO_SETTINGS_MODULE="chatty_settings",
            PYTHONPATH=os.pathsep.join([str(tmp_path), cli_environ()["PYTHONPATH"]]),
        ),
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    assert "chatty loaded" in result.stderr.decode()
    assert result.stderr.decode().splitlines()[-1].endswith(" to stdout")
    archive = tmp_path / "piped.tar.gz"
    archive.write_bytes(result.stdout)
    assert members(archive)[0][0] == "manifest.json"


@pytest.mark.databases_only("sqlite")
def test_an_import_from_stdin_needs_no_input(site, tmp_path):
    make_polls(site, questions=1, choices=0)
    archive = tmp_path / "shop.tar.gz"
    export_to(site, archive)

    with archive.open("rb") as stdin:
        result = subprocess.run(
            [sys.executable, "-m", "django", "devdata_import", "-", "--database", site.dev],
            stdin=stdin,
            capture_output=True,
            text=True,
            env=cli_environ(),
            timeout=300,
        )

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "ConfigError: devdata_import -: the export comes on stdin, so there is no terminal to "
        "confirm the reset on: pass --no-input; nothing was changed\n"
    )


@pytest.mark.databases_only("sqlite")
def test_an_export_that_fails_in_a_pipe_leaves_the_dev_database(dev_with_old_rows):
    site = dev_with_old_rows

    code, exported, imported = pipe(
        ["-", "polls.Nothing", "--database", site.src],
        ["-", "--no-input", "--database", site.dev],
    )

    assert code == 1
    assert exported.startswith("ConfigError: devdata_export arguments: 'polls.Nothing' is not")
    assert (imported.returncode, imported.stdout) == (1, "")
    assert imported.stderr == (
        "DataFileError: stdin is not a complete .tar archive (ReadError: empty file): it is "
        "truncated or corrupt; export it again; nothing was changed\n"
    )
    connections.close_all()
    assert dev_questions(site) == OLD_DEV_QUESTIONS


# fsspec URLs --------------------------------------------------------------------


def test_an_export_round_trips_through_a_memory_url(site):
    make_polls(site)
    url = f"memory://devdata-{uuid.uuid4().hex}/nightly.tar.zst"

    output = export_to(site, url)

    assert f"to {url}" in output.stdout
    import_from(site, url)
    assert site.pks(Question) == {1, 2, 3}


@pytest.mark.databases_only("sqlite")
@pytest.mark.parametrize("where", ["nightly/", "nightly"], ids=["prefix", "name"])
def test_an_import_reads_the_format_an_export_chose(site, where):
    """Whatever --format the export took, under a prefix or a name without a suffix."""
    make_polls(site)
    url = f"memory://devdata-{uuid.uuid4().hex}/{where}"

    export_to(site, url, format="tar")
    import_from(site, url)

    assert site.pks(Question) == {1, 2, 3}


@pytest.mark.databases_only("sqlite", "postgres")
def test_a_file_url_round_trips_between_processes(site, tmp_path):
    make_polls(site)
    url = f"file://{tmp_path}/exports/nightly.tar.gz"

    exported = site.cli("devdata_export", url, "--database", site.src)
    imported = site.cli("devdata_import", url, "--no-input", "--database", site.dev)

    assert exported.returncode == 0, exported.stderr
    assert imported.returncode == 0, imported.stderr
    assert [p.name for p in (tmp_path / "exports").iterdir()] == ["nightly.tar.gz"]
    subprocess_imported(site)
    assert site.pks(Question) == {1, 2, 3}


@pytest.mark.databases_only("sqlite")
def test_a_missing_url_is_one_line_that_names_it_without_secrets(site):
    url = f"memory://user:hunter2@devdata-{uuid.uuid4().hex}/nightly.tar.gz?token=hunter2"

    with pytest.raises(CommandError) as error:
        import_from(site, url)

    message = str(error.value)
    assert "hunter2" not in message
    assert message.endswith(
        "/nightly.tar.gz does not exist: check the URL and the credentials in the environment, "
        "or run devdata_export to it first; nothing was changed"
    )
    assert "\n" not in message


@pytest.mark.databases_only("sqlite")
def test_an_empty_prefix_and_keep_without_one_are_one_line(site):
    prefix = f"memory://devdata-{uuid.uuid4().hex}/nightly/"

    with pytest.raises(CommandError) as error:
        import_from(site, prefix)
    assert str(error.value) == (
        f"{prefix}: no export under this prefix verifies (0 found): run devdata_export to it; "
        "nothing was changed"
    )
    with pytest.raises(CommandError) as error:
        export_to(site, f"{prefix}one.tar.gz", keep=3)
    assert str(error.value) == (
        f"--keep 3: {prefix}one.tar.gz names one archive; end it with / to keep several "
        "exports under it as a prefix; nothing was written"
    )


# A real S3 API: moto's server on this machine, reached through s3fs ---------------


@pytest.fixture(scope="module")
def s3():
    """An S3 endpoint on 127.0.0.1 for this module, and the environment that points
    s3fs (in this process and in subprocesses) at it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    environ = {
        "AWS_ACCESS_KEY_ID": "devdata-test",
        "AWS_SECRET_ACCESS_KEY": "devdata-test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": f"http://{host}:{port}",
    }
    saved = {name: os.environ.get(name) for name in environ}
    os.environ.update(environ)
    try:
        yield environ
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.stop()


@pytest.fixture
def bucket(s3):
    """A new, empty bucket."""
    import fsspec

    name = f"devdata-{uuid.uuid4().hex[:12]}"
    fsspec.filesystem("s3").mkdir(name)
    return name


def test_an_export_round_trips_through_s3_between_processes(site, bucket):
    make_polls(site)
    url = f"s3://{bucket}/devdata/nightly.tar.zst"

    exported = site.cli("devdata_export", url, "--database", site.src)
    imported = site.cli("devdata_import", url, "--no-input", "--database", site.dev)

    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.splitlines()[-1].endswith(f" to {url}")
    assert imported.returncode == 0, imported.stderr
    subprocess_imported(site)
    assert site.pks(Question) == {1, 2, 3}


def s3_objects(bucket):
    import fsspec

    fs = fsspec.filesystem("s3")
    fs.invalidate_cache()
    return sorted(p.rpartition("/")[2] for p in fs.ls(f"{bucket}/devdata", detail=False))


@pytest.mark.databases_only("sqlite")
def test_keep_leaves_the_newest_exports_and_an_import_takes_the_newest_that_verifies(site, bucket):
    prefix = f"s3://{bucket}/devdata/"
    for pk in (1, 2, 3):
        Question.objects.using(site.src).create(pk=pk, question_text=f"q{pk}", pub_date=NOON)
        export_to(site, prefix, keep=2, format="tar.zst")

    kept = s3_objects(bucket)
    assert len(kept) == 2
    assert all(re.fullmatch(r"devdata-\d{8}T\d{6}\.\d{6}Z\.tar\.zst", name) for name in kept)
    output = import_from(site, prefix)
    assert f"Importing {prefix}{kept[-1]}, the newest export under {prefix}" in output.stdout
    assert site.pks(Question) == {1, 2, 3}

    # The newest is damaged: the one before it is loaded, and the user told why.
    import fsspec

    fs = fsspec.filesystem("s3")
    newest = f"{bucket}/devdata/{kept[-1]}"
    fs.pipe(newest, fs.cat(newest)[:-100])
    output = import_from(site, prefix)
    assert f"Warning: {prefix}{kept[-1]} is not a complete .tar.zst archive" in output.stderr
    assert site.pks(Question) == {1, 2}


@pytest.mark.databases_only("sqlite")
def test_keep_never_removes_the_export_it_wrote(site, bucket):
    """An export dated ahead (a writer whose clock runs fast) does not push this one out."""
    import fsspec

    make_polls(site)
    prefix = f"s3://{bucket}/devdata/"
    export_to(site, prefix, format="tar.gz")
    fs = fsspec.filesystem("s3")
    (written,) = s3_objects(bucket)
    fs.mv(f"{bucket}/devdata/{written}", f"{bucket}/devdata/devdata-20991231T000000.000000Z.tar.gz")

    export_to(site, prefix, keep=1, format="tar.gz")

    (kept,) = s3_objects(bucket)
    assert kept != "devdata-20991231T000000.000000Z.tar.gz"


@pytest.mark.databases_only("sqlite")
def test_an_export_to_a_missing_bucket_is_one_line_and_makes_no_bucket(site, s3):
    import fsspec

    make_polls(site)
    fs = fsspec.filesystem("s3")
    before = fs.ls("", refresh=True)

    with pytest.raises(CommandError) as error:
        export_to(site, "s3://devdata-no-such-bucket/nightly.tar.gz")

    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("s3://devdata-no-such-bucket/nightly.tar.gz: cannot write (")
    assert message.endswith("; nothing was written")
    assert fs.ls("", refresh=True) == before


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("sftp://deploy:pa/ss@host/devdata/x.tar", "sftp://host/devdata/x.tar"),
        ("sftp://deploy@host/x.tar", "sftp://host/x.tar"),
        ("https://host/x.tar.gz?X-Amz-Signature=abc#part", "https://host/x.tar.gz"),
        ("s3://bucket/nightly@2026.tar.gz", "s3://bucket/nightly@2026.tar.gz"),
    ],
)
def test_messages_name_a_url_without_its_secrets(url, shown):
    assert stores.without_secrets(url) == shown
    assert stores.without_secrets_in(f"failed (url='{url}')") == f"failed (url='{shown}')"


@pytest.mark.databases_only("sqlite")
def test_no_room_to_unpack_is_said_as_such(dev_with_old_rows, tmp_path):
    """A full TMPDIR is neither a damaged archive nor one an older export would spare; the
    kernel's limit on a process's file size (RLIMIT_FSIZE) stands in for a full disk."""
    import resource

    site = dev_with_old_rows
    archive = build_archive(tmp_path / "shop.tar", site)

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    result = subprocess.run(
        [sys.executable, "-m", "django", "devdata_import", str(archive), "--no-input",
         "--database", site.dev],
        capture_output=True,
        text=True,
        env=cli_environ(),
        preexec_fn=small_files,
        timeout=300,
    )  # fmt: skip

    assert (result.returncode, result.stdout) == (1, "")
    assert re.fullmatch(
        r"ConfigError: .+: cannot unpack the export here \(OSError: \[Errno 27\] File too "
        r"large\): free space in TMPDIR or point it at a larger volume; nothing was changed\n",
        result.stderr,
    ), result.stderr
    connections.close_all()
    assert dev_questions(site) == OLD_DEV_QUESTIONS


@pytest.mark.databases_only("sqlite")
def test_a_missing_s3_object_is_one_line_naming_it(site, bucket):
    result = site.cli("devdata_import", f"s3://{bucket}/nothing.tar.zst", "--no-input")

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"DataFileError: s3://{bucket}/nothing.tar.zst does not exist: check the URL and the "
        "credentials in the environment, or run devdata_export to it first; nothing was "
        "changed\n"
    )


@pytest.mark.databases_only("sqlite")
def test_a_url_without_its_file_system_installed_says_what_to_install(site):
    with pytest.raises(CommandError) as error:
        import_from(site, "gs://bucket/devdata.tar.zst")

    assert str(error.value).startswith("gs://bucket/devdata.tar.zst: no file system for this URL")
    assert str(error.value).endswith('e.g. pip install "devdata-core[s3]"')


# Remote sides that fail: one line naming the URL, and the dev database untouched ----


def without_credentials():
    """Environment for a subprocess that finds no AWS credentials anywhere (but still the
    local S3 endpoint), and does not wait for instance metadata."""
    return {
        **{name: None for name in os.environ if name.startswith("AWS_")},
        "AWS_ENDPOINT_URL_S3": os.environ["AWS_ENDPOINT_URL_S3"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/devdata/credentials",
        "AWS_CONFIG_FILE": "/nonexistent/devdata/config",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@pytest.mark.databases_only("sqlite")
def test_an_import_without_credentials_is_one_line_and_changes_nothing(dev_with_old_rows, bucket):
    site = dev_with_old_rows
    url = f"s3://{bucket}/devdata/nightly.tar.gz"
    export_to(site, url)

    result = site.cli(
        "devdata_import", url, "--no-input", "--database", site.dev, **without_credentials()
    )

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"RemoteError: {url}: cannot read (NoCredentialsError: Unable to locate "
        "credentials): check the URL and the credentials in the environment; nothing was "
        "changed\n"
    )
    connections.close_all()
    assert dev_questions(site) == OLD_DEV_QUESTIONS


@pytest.mark.databases_only("sqlite")
def test_an_export_without_credentials_is_one_line_and_leaves_the_archive(site, bucket):
    import fsspec

    make_polls(site, questions=1, choices=0)
    url = f"s3://{bucket}/devdata/nightly.tar.gz"
    export_to(site, url)
    before = fsspec.filesystem("s3").cat(url)

    result = site.cli("devdata_export", url, "--database", site.src, **without_credentials())

    assert (result.returncode, result.stdout) == (1, "")
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"RemoteError: {url}: cannot write (NoCredentialsError: Unable to locate "
        "credentials): check the URL and the credentials in the environment; nothing was "
        "written"
    )
    assert s3_objects(bucket) == ["nightly.tar.gz"]
    assert fsspec.filesystem("s3").cat(url) == before


@pytest.fixture
def s3_checking_keys(tmp_path):
    """A local S3 endpoint that checks signatures as AWS does, and the environment of a
    user of it allowed ``s3:*`` but deleting exports under ``exports/locked/``.

    moto's switch for this is process-wide, so this server runs in a process of its own:
    in this one it would make the module's server refuse its made-up key too.
    """
    import boto3

    log = tmp_path / "moto.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not (running := re.search(r"Running on (http://\S+)", log.read_text())):
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        endpoint = running[1]
        admin = {"endpoint_url": endpoint, "region_name": "us-east-1"}
        admin.update(aws_access_key_id="admin", aws_secret_access_key="admin")
        iam = boto3.client("iam", **admin)
        iam.create_user(UserName="exporter")
        everything = {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
        locked = {
            "Effect": "Deny",
            "Action": "s3:DeleteObject",
            "Resource": "arn:aws:s3:::exports/locked/devdata-*.tar.gz",
        }
        iam.put_user_policy(
            UserName="exporter",
            PolicyName="exports",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [everything, locked]}),
        )
        key = iam.create_access_key(UserName="exporter")["AccessKey"]
        boto3.client("s3", **admin).create_bucket(Bucket="exports")
        # From here on every request must be signed with a key IAM knows.
        enforce = urllib.request.Request(
            f"{endpoint}/moto-api/reset-auth", data=b"0", headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(enforce, timeout=30).close()
        yield {
            "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_S3": endpoint,
        }
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.databases_only("sqlite")
def test_a_wrong_secret_key_is_one_line_that_keeps_it_secret(dev_with_old_rows, s3_checking_keys):
    site = dev_with_old_rows
    url = "s3://exports/devdata/nightly.tar.gz"
    exported = site.cli("devdata_export", url, "--database", site.src, **s3_checking_keys)
    assert exported.returncode == 0, exported.stderr
    wrong = {**s3_checking_keys, "AWS_SECRET_ACCESS_KEY": "not-the-secret-hunter2"}

    result = site.cli("devdata_import", url, "--no-input", "--database", site.dev, **wrong)

    assert (result.returncode, result.stdout) == (1, "")
    # S3 answers a HEAD request that a wrong key signed with a bare 403.
    assert result.stderr == (
        f"RemoteError: {url}: cannot read (PermissionError: Forbidden): check the URL and "
        "the credentials in the environment; nothing was changed\n"
    )
    connections.close_all()
    assert dev_questions(site) == OLD_DEV_QUESTIONS


@pytest.mark.databases_only("sqlite")
def test_an_export_that_cannot_remove_older_ones_says_it_was_written(
    site, settings, s3_checking_keys
):
    """Through django-storages, which deletes one object at a time: s3fs deletes in bulk,
    and S3 reports a refused key of a bulk delete only in the response, which s3fs ignores."""
    use_storage(
        settings,
        "storages.backends.s3.S3Storage",
        bucket_name="exports",
        endpoint_url=s3_checking_keys["AWS_ENDPOINT_URL_S3"],
        access_key=s3_checking_keys["AWS_ACCESS_KEY_ID"],
        secret_key=s3_checking_keys["AWS_SECRET_ACCESS_KEY"],
    )
    make_polls(site, questions=1, choices=0)
    export_to(site, "locked/", storage="exports", keep=1)

    with pytest.raises(CommandError) as error:
        export_to(site, "locked/", storage="exports", keep=1)

    assert re.fullmatch(
        r"exports:locked/devdata-[\d.TZ]+\.tar\.gz: cannot remove older exports beside it "
        r"\(AccessDenied: An error occurred \(AccessDenied\) when calling the DeleteObject "
        r"operation: Access Denied\): check STORAGES\['exports'\] and its credentials; the "
        r"export was written",
        str(error.value),
    )
    names = storages["exports"].listdir("locked")[1]
    assert len(names) == 2  # the new export, and the one it could not remove


class Web(http.server.ThreadingHTTPServer):
    """A web server on 127.0.0.1 serving ``files`` (path to bytes, in ranges if asked),
    their contents only to requests whose query has ``token=<token>`` when ``token`` is
    set. A file in ``cut`` is announced whole but its connection closed after that many
    bytes of it; once asked for the file ``vanish`` names, the server stops listening
    before it answers."""

    daemon_threads = True  # a client's idle connection does not hold up the shutdown

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), WebHandler)
        self.files: dict[str, bytes] = {}
        self.cut: dict[str, int] = {}
        self.token: str | None = None
        self.vanish: str | None = None

    def url(self, path: str) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}{path}"


class WebHandler(http.server.BaseHTTPRequestHandler):
    server: Web

    def do_HEAD(self) -> None:
        self.respond(body=False)

    def do_GET(self) -> None:
        self.respond(body=True)

    def respond(self, body: bool) -> None:
        parts = urlsplit(self.path)
        token = dict(parse_qsl(parts.query)).get("token")
        data = self.server.files.get(parts.path)
        wrong = body and self.server.token not in (None, token)
        status = 404 if data is None else 403 if wrong else 200
        if status != 200:
            self.send_error(status)
            return
        asked = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
        if body and asked:
            start, end = int(asked[1]), min(int(asked[2]), len(data) - 1)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            data = data[start : end + 1]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if not body:
            return
        if parts.path == self.server.vanish:
            # The client's next request (HTTP/1.0: a new connection) finds no server.
            self.server.shutdown()
            self.server.server_close()
        self.wfile.write(data[: self.server.cut.get(parts.path)])

    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture
def web():
    server = Web()
    # Polled often, so that shutting it down takes no half second.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.databases_only("sqlite")
@pytest.mark.parametrize(
    "how, failure",
    [
        ("cut", "ClientPayloadError: Response payload is not completed"),
        ("vanish", "ClientConnectorError: Cannot connect to host"),
    ],
    ids=["cut", "vanish"],
)
def test_a_source_that_stops_half_way_is_one_line_and_changes_nothing(
    dev_with_old_rows, tmp_path, web, monkeypatch, how, failure
):
    """The connection closed in the middle of the archive, or the server gone after its
    first KiB (read in 1 KiB ranges, as an archive larger than fsspec's 5 MiB is)."""
    import fsspec

    site = dev_with_old_rows
    archive = tmp_path / "shop.tar.gz"
    export_to(site, archive)
    web.files["/shop.tar.gz"] = archive.read_bytes()
    if how == "cut":
        web.cut["/shop.tar.gz"] = archive.stat().st_size // 2
    else:
        web.vanish = "/shop.tar.gz"
        monkeypatch.setitem(fsspec.config.conf, "http", {"block_size": 1024})
    url = web.url("/shop.tar.gz")

    with pytest.raises(CommandError) as error:
        import_from(site, url)

    message = str(error.value)
    assert message.startswith(f"{url}: cannot read ({failure}")
    assert message.endswith(
        "): check the URL and the credentials in the environment; nothing was changed"
    )
    assert "\n" not in message
    assert dev_questions(site) == OLD_DEV_QUESTIONS


@pytest.mark.databases_only("sqlite")
def test_a_wrong_token_is_one_line_that_keeps_it_secret(dev_with_old_rows, tmp_path, web):
    site = dev_with_old_rows
    archive = tmp_path / "shop.tar.gz"
    export_to(site, archive)
    web.files["/shop.tar.gz"] = archive.read_bytes()
    web.token = "right-token"

    with pytest.raises(CommandError) as error:
        import_from(site, web.url("/shop.tar.gz?token=hunter2"))

    assert str(error.value) == (
        f"{web.url('/shop.tar.gz')}: cannot read (ClientResponseError: 403, "
        f"message='Forbidden', url='{web.url('/shop.tar.gz')}'): check the URL and the "
        "credentials in the environment; nothing was changed"
    )
    assert dev_questions(site) == OLD_DEV_QUESTIONS


def serve_nightly(web, archive):
    """Two exports under ``/nightly/`` listed in its index page, both ``archive``: the
    older one's URL, and the newest one's path on the server."""
    paths = [f"/nightly/devdata-{day}T020000.000000Z.tar.gz" for day in (20261129, 20261130)]
    links = "".join(f'<a href="{path}">{path}</a>\n' for path in paths)
    web.files["/nightly"] = links.encode()
    for path in paths:
        web.files[path] = archive.read_bytes()
    return web.url(paths[0]), paths[1]


@pytest.mark.databases_only("sqlite")
def test_a_prefix_import_stops_at_a_newest_export_that_stops_half_way(
    dev_with_old_rows, tmp_path, web
):
    """A connection lost is no reason to load an older export instead."""
    site = dev_with_old_rows
    archive = tmp_path / "shop.tar.gz"
    export_to(site, archive)
    _, newest = serve_nightly(web, archive)
    web.cut[newest] = archive.stat().st_size // 2

    with pytest.raises(CommandError) as error:
        import_from(site, web.url("/nightly/"))

    assert str(error.value).startswith(f"{web.url(newest)}: cannot read (ClientPayloadError: ")
    assert dev_questions(site) == OLD_DEV_QUESTIONS


@pytest.mark.databases_only("sqlite")
def test_a_prefix_import_takes_the_export_before_one_gone_since_the_listing(site, tmp_path, web):
    make_polls(site)
    archive = tmp_path / "shop.tar.gz"
    export_to(site, archive)
    older, newest = serve_nightly(web, archive)
    del web.files[newest]
    prefix = web.url("/nightly/")

    output = import_from(site, prefix)

    assert output.stderr.startswith(
        f"Warning: {web.url(newest)} does not exist: check the URL and the credentials in the "
        "environment, or run devdata_export to it first; nothing was changed; trying the "
        "export before it\n"
    )
    assert f"Importing {older}, the newest export under {prefix}" in output.stdout
    assert site.pks(Question) == {1, 2, 3}


# Django's STORAGES ----------------------------------------------------------------


def use_storage(settings, backend, **options):
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {"BACKEND": backend, "OPTIONS": options},
    }


@pytest.mark.parametrize("kind", ["filesystem", "s3"])
def test_an_export_round_trips_through_a_django_storage(site, settings, tmp_path, kind, request):
    if kind == "s3":
        environ = request.getfixturevalue("s3")
        use_storage(
            settings,
            "storages.backends.s3.S3Storage",
            bucket_name=request.getfixturevalue("bucket"),
            endpoint_url=environ["AWS_ENDPOINT_URL_S3"],
        )
    else:
        use_storage(
            settings,
            "django.core.files.storage.FileSystemStorage",
            location=str(tmp_path / "media"),
        )
    make_polls(site)

    output = export_to(site, "devdata/nightly.tar.zst", storage="exports")

    assert output.stdout.splitlines()[-1].endswith(" to exports:devdata/nightly.tar.zst")
    Question.objects.using(site.src).create(pk=4, question_text="q4", pub_date=NOON)
    export_to(site, "devdata/nightly.tar.zst", storage="exports")
    import_from(site, "devdata/nightly.tar.zst", storage="exports")
    assert site.pks(Question) == {1, 2, 3, 4}
    if kind == "filesystem":
        # Replaced, not saved beside under another name.
        assert [p.name for p in (tmp_path / "media" / "devdata").iterdir()] == ["nightly.tar.zst"]


@pytest.mark.databases_only("sqlite")
def test_keep_works_under_a_prefix_in_a_django_storage(site, settings, tmp_path):
    use_storage(
        settings, "django.core.files.storage.FileSystemStorage", location=str(tmp_path / "media")
    )
    for pk in (1, 2):
        Question.objects.using(site.src).create(pk=pk, question_text=f"q{pk}", pub_date=NOON)
        export_to(site, "nightly/", storage="exports", keep=1)

    [kept] = (tmp_path / "media" / "nightly").iterdir()
    assert kept.name.endswith(".tar.gz")
    output = import_from(site, "nightly/", storage="exports")
    assert f"Importing exports:nightly/{kept.name}" in output.stdout
    assert site.pks(Question) == {1, 2}


@pytest.mark.databases_only("sqlite")
def test_an_unknown_storage_is_one_line(site):
    with pytest.raises(CommandError) as error:
        import_from(site, "nightly.tar.zst", storage="nowhere")

    assert str(error.value) == (
        "--storage nowhere: no such storage in STORAGES: add it, or choose one of default, "
        "staticfiles; nothing was changed"
    )


# Hostile and damaged archives ----------------------------------------------------


def build_archive(path, site, *extra, replace=None, compression=""):
    """A tar of the export at ``site.export_dir`` (manifest first), with ``extra`` members
    (``(TarInfo, bytes)``) added and the members named in ``replace`` swapped for others."""
    root = site.export_dir
    manifest = json.loads((root / "manifest.json").read_text())
    names = ["manifest.json", *(e["name"] for e in manifest["entries"])]
    replace = replace or {}
    with tarfile.open(path, f"w:{compression}", format=tarfile.PAX_FORMAT) as tar:
        for name in names:
            if name in replace:
                info, data = replace[name]
            else:
                data = (root / name).read_bytes()
                info = tarfile.TarInfo(name)
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
        for info, data in extra:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def member(name, data=b"", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    if kind == tarfile.REGTYPE:
        info.size = len(data)
        return info, data
    return info, None


QUESTIONS = "polls.Question/all.jsonl"
NOT_DEVDATA = "it was not written by devdata_export: do not import it; nothing was changed"


def traversal(site, path):
    build_archive(path, site, member("../evil.jsonl", b"{}\n"))
    return f"member '../evil.jsonl' points outside the export; {NOT_DEVDATA}"


def absolute_path(site, path):
    build_archive(path, site, member("/tmp/evil.jsonl", b"{}\n"))
    return f"member '/tmp/evil.jsonl' has an absolute or odd path; {NOT_DEVDATA}"


def symlink(site, path):
    build_archive(
        path, site, replace={QUESTIONS: member(QUESTIONS, kind=tarfile.SYMTYPE, link="/etc/passwd")}
    )
    return f"member '{QUESTIONS}' is a symbolic link; {NOT_DEVDATA}"


def hard_link(site, path):
    build_archive(
        path,
        site,
        replace={QUESTIONS: member(QUESTIONS, kind=tarfile.LNKTYPE, link="manifest.json")},
    )
    return f"member '{QUESTIONS}' is a hard link; {NOT_DEVDATA}"


def device(site, path):
    build_archive(path, site, member("dev.jsonl", kind=tarfile.CHRTYPE))
    return f"member 'dev.jsonl' is a device; {NOT_DEVDATA}"


def duplicate(site, path):
    data = (site.export_dir / QUESTIONS).read_bytes()
    build_archive(path, site, member(QUESTIONS, data))
    return f"member '{QUESTIONS}' appears twice; {NOT_DEVDATA}"


def unexpected(site, path):
    build_archive(path, site, member("polls.Question/more.jsonl", b"{}\n"))
    return f"member 'polls.Question/more.jsonl' is not in its manifest; {NOT_DEVDATA}"


def oversized(site, path):
    data = (site.export_dir / QUESTIONS).read_bytes()
    build_archive(path, site, replace={QUESTIONS: member(QUESTIONS, data + b" " * 100_000)})
    return (
        f"member '{QUESTIONS}' holds {len(data) + 100_000:,} bytes where its manifest lists "
        f"{len(data):,}; {NOT_DEVDATA}"
    )


def corrupted_byte(site, path):
    build_archive(path, site)
    raw = bytearray(path.read_bytes())
    at = raw.index(b'"question_text"')
    raw[at + 1] ^= 0x20
    path.write_bytes(bytes(raw))
    return (
        f"member '{QUESTIONS}' does not match its manifest (its SHA-256 differs): the archive "
        "is truncated or corrupt; export it again; nothing was changed"
    )


def truncated(site, path):
    build_archive(path, site, compression="gz")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    return None  # where the stream ends decides the wording; the tests ask for one line


def missing_manifest(site, path):
    with tarfile.open(path, "w") as tar:
        tar.add(site.export_dir / QUESTIONS, arcname=QUESTIONS)
    return (
        "does not start with a devdata manifest.json: it is not an archive devdata_export "
        "wrote; export it again; nothing was changed"
    )


def huge_header(site, path):
    """tarfile reads an extended header whole before devdata sees its member."""
    info, data = member("polls.Question/more.jsonl", b"{}\n")
    info.pax_headers = {"comment": "a" * (1 << 20)}
    build_archive(path, site, (info, data))
    return re.compile(rf"a tar header of type b'x' \([\d,]+ bytes\); {re.escape(NOT_DEVDATA)}")


def sparse(site, path):
    build_archive(path, site, member("polls.Question/more.jsonl", kind=tarfile.GNUTYPE_SPARSE))
    return f"a tar header of type b'S' (0 bytes); {NOT_DEVDATA}"


def control_character(site, path):
    build_archive(path, site, member("polls.Question/\x1b[31mred.jsonl", b"{}\n"))
    return f"member 'polls.Question/\\x1b[31mred.jsonl' has an absolute or odd path; {NOT_DEVDATA}"


def case_twin(site, path):
    shutil.copy(site.export_dir / QUESTIONS, site.export_dir / "polls.Question" / "ALL.jsonl")
    site.reseal_export()
    build_archive(path, site)
    return f"two members differ only in case or Unicode form; {NOT_DEVDATA}"


def data_after_the_end(site, path):
    build_archive(path, site)
    with path.open("ab") as f:
        f.write(b"more" * 10)
    return f"data follows the end of the archive; {NOT_DEVDATA}"


def with_manifest(site, path, change):
    found = json.loads((site.export_dir / "manifest.json").read_text())
    data = change(found) or json.dumps(found).encode()
    build_archive(path, site, replace={"manifest.json": member("manifest.json", data)})
    return found["entries"][0]["name"]


def infinite_size(site, path):
    name = with_manifest(site, path, lambda m: m["entries"][0].update(bytes=float("inf")))
    return (
        f"not a devdata manifest (entry {name!r} has inf where a count belongs); export it "
        "again; nothing was changed"
    )


def listed_twice(site, path):
    name = with_manifest(site, path, lambda m: m["entries"].append(m["entries"][0]))
    return (
        f"not a devdata manifest (entry {name!r} is not a file name listed once); export it "
        "again; nothing was changed"
    )


def nested_too_deeply(site, path):
    with_manifest(site, path, lambda m: b'{"format_version": ' + b"[" * 100_000 + b"]" * 100_000)
    return "not a devdata manifest (nested too deeply); export it again; nothing was changed"


HOSTILE = [
    huge_header,
    sparse,
    control_character,
    case_twin,
    data_after_the_end,
    infinite_size,
    listed_twice,
    nested_too_deeply,
    traversal,
    absolute_path,
    symlink,
    hard_link,
    device,
    duplicate,
    unexpected,
    oversized,
    corrupted_byte,
    truncated,
    missing_manifest,
]


@pytest.mark.databases_only("sqlite")
def test_a_bad_line_in_an_archive_is_named_inside_the_archive(dev_with_old_rows, tmp_path):
    site = dev_with_old_rows
    choices = site.export_dir / "polls.Choice" / "all.jsonl"
    with choices.open("a") as f:
        f.write('{"model": "polls.choice", "pk": 3 "fields": {}}\n')
    site.reseal_export()
    archive = build_archive(tmp_path / "shop.tar", site)

    result = site.cli("devdata_import", str(archive), "--no-input", "--database", site.dev)

    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"DataFileError: {archive}/polls.Choice/all.jsonl:3: not valid JSON at column 35 "
        "(Expecting ',' delimiter); the file is corrupt: export it again\n"
    )
    connections.close_all()
    assert dev_questions(site) == OLD_DEV_QUESTIONS


@pytest.mark.databases_only("sqlite")
def test_a_warning_names_a_member_inside_the_archive(site, tmp_path):
    archive = tmp_path / "shop.tar.zst"
    export_a_strategy_then_drop_it(site, lambda: export_to(site, archive))

    output = import_from(site, archive)

    assert (
        f"Warning: {archive}/polls.Question/rest.jsonl is not imported: no strategy in "
        "DEVDATA_STRATEGIES reads it\n" in output.stderr
    )
    assert tempfile.gettempdir() not in output.stderr.replace(str(archive), "")
    assert site.pks(Question) == {1}


# Extraction fails before any database is reached: one vendor shows the dev database kept.
@pytest.mark.databases_only("sqlite")
@pytest.mark.parametrize("attack", HOSTILE, ids=[a.__name__ for a in HOSTILE])
def test_a_hostile_or_damaged_archive_is_refused_before_the_reset(
    dev_with_old_rows, tmp_path, attack
):
    site = dev_with_old_rows
    archive = tmp_path / "hostile.tar"
    expected = attack(site, archive)

    with pytest.raises(CommandError) as error:
        import_from(site, archive)

    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{archive}")
    if expected is None:
        assert message.endswith("export it again; nothing was changed")
    elif isinstance(expected, re.Pattern):
        assert expected.fullmatch(message.removeprefix(f"{archive}: ")), message
    else:
        assert message == f"{archive}: {expected}" or message == f"{archive} {expected}"
    assert dev_questions(site) == OLD_DEV_QUESTIONS
    assert not (tmp_path / "evil.jsonl").exists()
    assert not Path("/tmp/evil.jsonl").exists()
