"""Finding submissions: folders, zips, class folders, and clear messages for bad ones."""

import contextlib
import os
import signal
import stat
import struct
import subprocess
import zipfile

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.submissions import Wanted, discover

MODULES = ["rnn_layers"]


def make_zip(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, text in entries.items():
            z.writestr(name, text)
    return path


def test_a_class_folder_holds_folders_and_zips(tmp_path):
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "rnn_layers.py").write_text("A = 1\n")
    (tmp_path / "ann" / "helpers.py").write_text("H = 1\n")
    make_zip(tmp_path / "bob.zip", {"bob/work/rnn_layers.py": "B = 1\n", "bob/notes.txt": "hi"})
    found = discover([tmp_path], MODULES)
    assert [s.student for s in found] == ["ann", "bob"]
    assert sorted(found[0].files) == ["helpers.py", "rnn_layers.py"]
    assert found[1].files == {"rnn_layers.py": b"B = 1\n"} and not found[1].problem


def test_a_single_folder_or_file_is_one_submission(tmp_path):
    (tmp_path / "carl").mkdir()
    (tmp_path / "carl" / "rnn_layers.py").write_text("C = 1\n")
    assert [s.student for s in discover([tmp_path / "carl"], MODULES)] == ["carl"]
    assert discover([tmp_path / "carl" / "rnn_layers.py"], MODULES)[0].files == {"rnn_layers.py": b"C = 1\n"}


def test_bad_submissions_get_a_clear_problem_and_do_not_stop_the_others(tmp_path):
    (tmp_path / "broken.zip").write_bytes(b"this is not a zip")
    make_zip(tmp_path / "escape.zip", {"../../etc/rnn_layers.py": "x = 1\n"})
    make_zip(tmp_path / "wrong.zip", {"rnn_layer.py": "x = 1\n"})
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "rnn_layers.py").write_text("G = 1\n")
    problems = {s.student: s.problem for s in discover([tmp_path], MODULES)}
    assert "broken.zip is not a readable zip file" in problems["broken"]
    assert "unsafe path" in problems["escape"]
    assert "no rnn_layers.py found (the submission has: rnn_layer.py)" == problems["wrong"]
    assert problems["good"] == ""


def test_content_hash_ignores_where_the_files_came_from(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "rnn_layers.py").write_text("X = 1\n")
    make_zip(tmp_path / "b.zip", {"deep/er/rnn_layers.py": "X = 1\n"})
    a, b = discover([tmp_path], MODULES)
    assert a.content_hash == b.content_hash


# ---------------------------------------------------------------- bad inputs, one kind per test

def zip_with_modes(path, entries):
    """A zip whose entries carry Unix file types: {name: (mode, content)}."""
    with zipfile.ZipFile(path, "w") as z:
        for name, (mode, content) in entries.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            z.writestr(info, content)
    return path


def beside_a_good_one(folder):
    """Discover ``folder`` after adding a good student to it; check that one and return the rest."""
    (folder / "good").mkdir(parents=True)
    (folder / "good" / "rnn_layers.py").write_text("G = 1\n")
    found = {s.student: s for s in discover([folder], MODULES)}
    good = found.pop("good")
    assert good.files == {"rnn_layers.py": b"G = 1\n"} and good.problem == "" and good.notebook == ""
    for submission in found.values():
        assert submission.content_hash   # every name and message can be hashed (and so stored)
    return found


@contextlib.contextmanager
def fails_if_stuck(seconds=20):
    """Opening a FIFO blocks until someone writes to it: turn such a hang into a failure."""
    def stuck(signum, frame):
        raise TimeoutError("reading the submissions blocked (was a FIFO opened?)")
    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_zip_links_devices_and_fifos_are_never_read(tmp_path):
    link = stat.S_IFLNK | 0o777
    zip_with_modes(tmp_path / "linked.zip", {"rnn_layers.py": (link, "/etc/passwd")})
    zip_with_modes(tmp_path / "chardev.zip", {"rnn_layers.py": (stat.S_IFCHR | 0o600, "")})
    zip_with_modes(tmp_path / "blockdev.zip", {"work/rnn_layers.py": (stat.S_IFBLK | 0o600, "")})
    zip_with_modes(tmp_path / "fifo.zip", {"rnn_layers.py": (stat.S_IFIFO | 0o600, "")})
    zip_with_modes(tmp_path / "socket.zip", {"rnn_layers.py": (stat.S_IFSOCK | 0o600, "")})
    zip_with_modes(tmp_path / "extras.zip", {"rnn_layers.py": (stat.S_IFREG | 0o644, "E = 1\n"),
                                             "helpers.py": (link, "/etc/passwd"),
                                             "pipe.py": (stat.S_IFIFO | 0o600, "P = 1\n")})
    make_zip(tmp_path / "absolute.zip", {"/etc/rnn_layers.py": "x = 1\n"})
    make_zip(tmp_path / "backslashes.zip", {"..\\..\\rnn_layers.py": "x = 1\n"})
    found = beside_a_good_one(tmp_path)
    assert found["linked"].problem == ("rnn_layers.py is a symbolic link, and links are not followed during "
                                       "grading: submit the file itself")
    assert found["chardev"].problem == ("rnn_layers.py is a device file, and such files are not read during "
                                        "grading: submit the file itself")
    assert found["blockdev"].problem.startswith("work/rnn_layers.py is a device file")
    assert found["fifo"].problem.startswith("rnn_layers.py is a named pipe (FIFO), and such files are not read")
    assert found["socket"].problem.startswith("rnn_layers.py is a socket")
    assert found["extras"].files == {"rnn_layers.py": b"E = 1\n"} and found["extras"].problem == ""
    assert found["absolute"].problem.startswith("absolute.zip has an entry with an unsafe path: '/etc/")
    assert found["backslashes"].problem.startswith("backslashes.zip has an entry with an unsafe path: '../../")


def test_folder_links_and_fifos_are_never_followed_or_opened(tmp_path):
    outside, class_folder = tmp_path / "outside", tmp_path / "class"
    (outside / "work").mkdir(parents=True)
    (outside / "secret.py").write_text("SECRET = 1\n")
    (outside / "work" / "rnn_layers.py").write_text("SECRET = 1\n")
    for student in ("linked", "piped", "extras", "dirlink"):
        (class_folder / student).mkdir(parents=True)
    (class_folder / "linked" / "rnn_layers.py").symlink_to(outside / "secret.py")
    os.mkfifo(class_folder / "piped" / "rnn_layers.py")
    (class_folder / "extras" / "rnn_layers.py").write_text("E = 1\n")
    (class_folder / "extras" / "helpers.py").symlink_to(outside / "secret.py")
    os.mkfifo(class_folder / "extras" / "pipe.py")
    (class_folder / "extras" / "sub").symlink_to(outside / "work")
    (class_folder / "dirlink" / "work").symlink_to(outside / "work")
    (class_folder / "shortcut").symlink_to(outside / "work")   # a link in the class folder itself
    os.mkfifo(class_folder / "pipe.zip")
    with fails_if_stuck():
        found = beside_a_good_one(class_folder)
    assert found["linked"].problem == ("rnn_layers.py is a symbolic link, and links are not followed during "
                                       "grading: submit the file itself")
    assert found["piped"].problem == ("rnn_layers.py is a named pipe (FIFO), and such files are not read during "
                                      "grading: submit the file itself")
    assert found["extras"].files == {"rnn_layers.py": b"E = 1\n"} and found["extras"].problem == ""
    assert found["dirlink"].problem == "no rnn_layers.py found (the submission has: no Python files)"
    assert found["shortcut"].problem == ("shortcut is a symbolic link, and links in a class folder are not "
                                         "followed: copy the submission itself there")
    assert found["pipe"].problem == "pipe.zip is a named pipe (FIFO), not a folder or a zip; it was not read"
    assert not any(b"SECRET" in content for s in found.values() for content in s.files.values())


def central_directory(data):
    """Offset of the first central directory entry of the zip in ``data``."""
    end = data.rindex(b"PK\x05\x06")
    return struct.unpack_from("<I", data, end + 16)[0]


def test_zip_bombs_and_members_longer_than_declared_get_a_message(tmp_path):
    make_zip(tmp_path / "bomb.zip", {"rnn_layers.py": "B = 1\n", "data/zeros.bin": bytes(20 * 2**20)},
             zipfile.ZIP_DEFLATED)
    make_zip(tmp_path / "huge.zip", {"rnn_layers.py": "B = 1\n", "data/zeros.bin": bytes(60 * 2**20)},
             zipfile.ZIP_DEFLATED)
    lying = make_zip(tmp_path / "lying.zip", {"rnn_layers.py": "L = 1\n" * 1000}, zipfile.ZIP_DEFLATED)
    data = bytearray(lying.read_bytes())
    struct.pack_into("<I", data, central_directory(data) + 24, 100)   # declares 100 bytes; unpacks to 6000
    lying.write_bytes(bytes(data))
    found = beside_a_good_one(tmp_path)
    assert found["bomb"].problem.startswith("bomb.zip looks like a zip bomb: data/zeros.bin would unpack from ")
    assert found["bomb"].problem.endswith("to 20,971,520 bytes; remove that file and zip again")
    assert found["huge"].problem == "huge.zip unpacks to more than 50 MB"
    assert found["lying"].problem == ("lying.zip: rnn_layers.py is damaged: its data does not match the size and "
                                      "checksum recorded in the zip (Bad CRC-32 for file 'rnn_layers.py'); "
                                      "zip the files again")


def test_names_that_are_not_utf8_do_not_crash(tmp_path):
    # Without the UTF-8 flag zipfile reads names as cp437: any bytes make a name, if an odd one.
    cp437 = make_zip(tmp_path / "cp437.zip", {"rnn_layers.py": "C = 1\n", "caf#.py": "H = 1\n"})
    cp437.write_bytes(cp437.read_bytes().replace(b"caf#.py", b"caf\xe9.py"))
    # With the flag, a name that is not UTF-8 stops zipfile from reading the zip at all.
    flagged = make_zip(tmp_path / "flagged.zip", {"rnn_layers.py": "F = 1\n", "café.py": "H = 1\n"})
    flagged.write_bytes(flagged.read_bytes().replace("café.py".encode(), b"caf\xff\xfe.py"))
    try:   # a folder and a file whose names are not UTF-8 (os.fsdecode gives surrogates for them)
        student = os.path.join(os.fsencode(tmp_path), b"stud\xff")
        os.mkdir(student)
        for name, text in ((b"rnn_layers.py", b"S = 1\n"), (b"helper\xff.py", b"H = 1\n"), (b"pic\xfe.png", b"")):
            with open(os.path.join(student, name), "wb") as f:
                f.write(text)
    except OSError:
        pytest.skip("this file system only takes UTF-8 names")
    found = beside_a_good_one(tmp_path)
    assert found["cp437"].files == {"rnn_layers.py": b"C = 1\n", "caf\u0398.py": b"H = 1\n"}   # cp437 0xe9: Θ
    assert found["cp437"].problem == ""
    assert found["flagged"].problem.startswith("flagged.zip has a file whose name is marked as UTF-8 but is not "
                                               "valid UTF-8, so the zip cannot be read")
    assert found["stud"].files == {"rnn_layers.py": b"S = 1\n"} and found["stud"].problem == ""


def test_archives_inside_a_submission_are_not_opened(tmp_path):
    inner = make_zip(tmp_path / "inner.zip", {"rnn_layers.py": "I = 1\n"}).read_bytes()
    (tmp_path / "inner.zip").unlink()
    make_zip(tmp_path / "russ.zip", {"russ/inner.zip": inner, "russ/readme.txt": "see inside"})
    make_zip(tmp_path / "sam.zip", {"code.7z": b"7z", "code.rar": b"rar"})
    (tmp_path / "tara").mkdir()
    (tmp_path / "tara" / "work.tar.gz").write_bytes(b"\x1f\x8b")
    make_zip(tmp_path / "uma.zip", {"rnn_layers.py": "U = 1\n", "data.zip": inner})
    found = beside_a_good_one(tmp_path)
    assert found["russ"].problem == ("no rnn_layers.py found; the submission holds russ/inner.zip, and archives "
                                     "inside a submission are not opened: submit rnn_layers.py itself "
                                     "(or a single zip of it)")
    assert found["sam"].problem.startswith("no rnn_layers.py found; the submission holds code.7z, code.rar, and")
    assert found["tara"].problem.startswith("no rnn_layers.py found; the submission holds work.tar.gz, and")
    assert found["uma"].files == {"rnn_layers.py": b"U = 1\n"} and found["uma"].problem == ""


HOSTILE_CELLS = ["!pip install numpy", "%%bash\nrm -rf /", 'get_ipython().system("curl evil")',
                 "%matplotlib inline", "if True:\n    !ls ~\n    %timeit len([])"]


def notebook_bytes(*cells):
    notebook = new_notebook(cells=[new_markdown_cell("# My RNN")] + [new_code_cell(c) for c in cells])
    return nbformat.writes(notebook).encode()


def test_a_notebook_is_graded_on_its_code_with_ipython_syntax_neutralised(tmp_path, capsys, monkeypatch):
    code = "def rnn_step_forward(x):\n    return 2 * x"
    (tmp_path / "nina").mkdir()
    notebook = notebook_bytes(*HOSTILE_CELLS[:3], code, *HOSTILE_CELLS[3:])
    (tmp_path / "nina" / "answers.ipynb").write_bytes(notebook)
    (tmp_path / "nina" / "helpers.py").write_text("H = 1\n")
    make_zip(tmp_path / "olga.zip", {"olga/work.ipynb": notebook_bytes(code), "olga/data.csv": "1,2\n"})
    found = beside_a_good_one(tmp_path)
    nina, olga = found["nina"], found["olga"]
    assert nina.problem == "" and nina.notebook == "answers.ipynb"
    assert sorted(nina.files) == ["answers.ipynb", "helpers.py", "rnn_layers.py"]   # the notebook too: free responses
    assert olga.problem == "" and olga.notebook == "olga/work.ipynb" and sorted(olga.files) == ["rnn_layers.py", "work.ipynb"]
    source = nina.files["rnn_layers.py"].decode()
    assert source.startswith("# rnnkit: rnn_layers.py made for grading from the code cells of 'answers.ipynb'.")
    assert "# rnnkit: not run during grading: !pip install numpy" in source
    assert "# rnnkit: not run during grading: %%bash\n# rnnkit: not run during grading: rm -rf /" in source
    assert "    pass  # rnnkit: not run during grading: !ls ~" in source
    assert "# rnnkit: not run during grading: %matplotlib inline" in source
    assert code in source

    def no_shell(*args, **kwargs):
        raise AssertionError("the notebook started a process")
    monkeypatch.setattr(os, "system", no_shell)
    monkeypatch.setattr(subprocess, "Popen", no_shell)
    namespace = {}
    exec(compile(source, "rnn_layers.py", "exec"), namespace)
    assert namespace["rnn_step_forward"](3) == 6
    assert capsys.readouterr().out == ("rnnkit: get_ipython().system(...) did nothing: shell commands and magics "
                                       "do not run during grading\n")


def test_files_that_are_not_usable_notebooks_get_a_message(tmp_path):
    for student, content in [("json", b"print('hi')\n"), ("other", b'{"answers": [1, 2]}'),
                             ("latin", '{"cells": "caf\xe9"}'.encode("latin-1")),
                             ("prose", notebook_bytes()), ("blank", notebook_bytes("", "# just a comment\n"))]:
        (tmp_path / student).mkdir()
        (tmp_path / student / "answers.ipynb").write_bytes(content)
    (tmp_path / "twice").mkdir()
    (tmp_path / "twice" / "a.ipynb").write_bytes(notebook_bytes("A = 1"))
    (tmp_path / "twice" / "b.ipynb").write_bytes(notebook_bytes("B = 1"))
    found = beside_a_good_one(tmp_path)
    assert found["json"].problem == ("answers.ipynb is not a Jupyter notebook: it is not JSON text "
                                     "(was another kind of file renamed to .ipynb?)")
    assert found["other"].problem == ("answers.ipynb is not a Jupyter notebook: "
                                      "it is JSON, but has no list of cells")
    assert found["latin"].problem == "answers.ipynb is not a Jupyter notebook: it is not UTF-8 text"
    for student in ("prose", "blank"):
        assert found[student].problem == ("answers.ipynb has no code in its code cells, so there is nothing to "
                                          "grade: put your code in it, or submit rnn_layers.py itself")
    assert found["twice"].problem == ("no rnn_layers.py found, and 2 notebooks (a.ipynb, b.ipynb): "
                                      "submit rnn_layers.py, or just the one notebook to grade")
    assert all(not s.files for s in found.values())


def test_empty_submissions_say_so(tmp_path):
    (tmp_path / "nothing").mkdir()
    (tmp_path / "hidden" / ".git").mkdir(parents=True)
    (tmp_path / "hidden" / ".DS_Store").write_bytes(b"\0")
    zipfile.ZipFile(tmp_path / "blank.zip", "w").close()
    make_zip(tmp_path / "folders.zip", {"vic/": "", "vic/work/": "", "__MACOSX/vic/._x": "junk"})
    found = beside_a_good_one(tmp_path)
    for student, where in [("nothing", "nothing"), ("hidden", "hidden"), ("blank", "blank.zip"),
                           ("folders", "folders.zip")]:
        assert found[student].problem == f"the submission is empty: {where} holds no files (submit rnn_layers.py)"


def test_extra_files_beside_the_module_are_left_out(tmp_path):
    student = tmp_path / "wendy"
    (student / "images").mkdir(parents=True)
    (student / "rnn_layers.py").write_text("W = 1\n")
    (student / "helpers.py").write_text("H = 1\n")
    (student / "data.npy").write_bytes(os.urandom(300_000))
    for i in range(200):
        (student / "images" / f"plot{i}.png").write_bytes(b"\x89PNG" + bytes(1000))
    (student / "images" / "unused.py").write_text("U = 1\n")   # not beside the module
    make_zip(tmp_path / "xena.zip", {"xena/rnn_layers.py": "X = 1\n", "xena/report.pdf": os.urandom(50_000),
                                     **{f"xena/img/{i}.jpg": b"jpg" for i in range(300)}})
    found = beside_a_good_one(tmp_path)
    assert found["wendy"].files == {"rnn_layers.py": b"W = 1\n", "helpers.py": b"H = 1\n"}
    assert found["xena"].files == {"rnn_layers.py": b"X = 1\n"}
    assert found["wendy"].problem == found["xena"].problem == ""


def test_huge_python_files_are_refused_and_other_encodings_are_kept_as_they_are(tmp_path):
    big = "#" * (2 * 1024 * 1024) + "\n"
    (tmp_path / "yuri").mkdir()
    (tmp_path / "yuri" / "rnn_layers.py").write_text(big)
    make_zip(tmp_path / "zoe.zip", {"rnn_layers.py": big})
    (tmp_path / "lena").mkdir()
    (tmp_path / "lena" / "rnn_layers.py").write_bytes("NAME = 'café'\n".encode("latin-1"))
    found = beside_a_good_one(tmp_path)
    assert found["yuri"].problem == "rnn_layers.py is larger than 2 MB"
    assert found["zoe"].problem == "zoe.zip: rnn_layers.py is larger than 2 MB"
    # the grader reports the encoding when it imports the module, with the line
    assert found["lena"].files == {"rnn_layers.py": "NAME = 'café'\n".encode("latin-1")}
    assert found["lena"].problem == ""


def test_a_gradescope_export_names_each_submission_after_its_submitter(tmp_path):
    export = tmp_path / "assignment_export"
    for folder, text in (("submission_1", "A = 1\n"), ("submission_2", "B = 1\n"), ("submission_3", "C = 1\n")):
        (export / folder).mkdir(parents=True)
        (export / folder / "rnn_layers.py").write_text(text)
    (export / "submission_metadata.yml").write_text(
        "submission_1:\n  :submitters:\n  - :name: Ada Lovelace\n    :sid: '1001'\n    :email: ada@example.edu\n"
        "submission_2:\n  :submitters:\n  - :name: Bob\n    :sid:\n    :email: bob@example.edu\n")
    # a student's own metadata file is content like any other, never an identity
    (export / "submission_3" / "submission_metadata.json").write_text('{"users": [{"sid": "1001"}]}')
    found = {s.student: s for s in discover([export], MODULES)}
    assert sorted(found) == ["1001", "bob@example.edu", "submission_3"]
    assert found["1001"].files == {"rnn_layers.py": b"A = 1\n"}


def test_only_magics_that_start_a_logical_line_are_neutralised():
    from autograder.notebooks import python_lines

    source = 'x = 7\nmsg = ("v: %d"\n%x)\ns = """\n!kept\n"""\n!pip install x\nif True:\n    %time f()\ny = x \\\n%x'
    lines = python_lines(source)[1:]
    assert lines[1] == "%x)" and lines[3] == "!kept" and lines[-1] == "%x"
    assert lines[5].startswith("# rnnkit: not run during grading: !pip") and lines[7].strip().startswith("pass  #")
    compile("\n".join(lines), "cell", "exec")   # still Python


# ---------------------------------------------------------------- artifacts (a trained checkpoint, say)

ARTIFACTS = Wanted(("rnn_layers",), ("model.safetensors", "model.npz"), artifact_bytes=1000)


def test_artifacts_beside_the_module_are_taken_and_others_are_not(tmp_path):
    (tmp_path / "ann" / "old").mkdir(parents=True)
    (tmp_path / "ann" / "rnn_layers.py").write_text("A = 1\n")
    (tmp_path / "ann" / "model.npz").write_bytes(b"\x00" * 10)
    (tmp_path / "ann" / "notes.txt").write_text("not an artifact")
    (tmp_path / "ann" / "old" / "model.safetensors").write_bytes(b"\x01")   # not beside the module
    make_zip(tmp_path / "bob.zip", {"bob/rnn_layers.py": "B = 1\n", "bob/model.safetensors": b"\x02" * 5})
    found = {s.student: s for s in discover([tmp_path], ARTIFACTS)}
    assert sorted(found["ann"].files) == ["model.npz", "rnn_layers.py"]
    assert found["bob"].files["model.safetensors"] == b"\x02" * 5
    # without artifacts asked for, the same folder gives code only
    assert sorted(discover([tmp_path / "ann"], MODULES)[0].files) == ["rnn_layers.py"]


def test_an_artifact_over_its_limit_or_a_link_is_a_clear_problem(tmp_path):
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / "rnn_layers.py").write_text("A = 1\n")
    (tmp_path / "big" / "model.npz").write_bytes(b"\x00" * 1001)
    (tmp_path / "link").mkdir()
    (tmp_path / "link" / "rnn_layers.py").write_text("A = 1\n")
    os.symlink("/etc/passwd", tmp_path / "link" / "model.npz")
    found = {s.student: s for s in discover([tmp_path], ARTIFACTS)}
    assert "model.npz is larger than" in found["big"].problem
    assert "model.npz is a symbolic link" in found["link"].problem


def test_one_notebook_stands_for_every_module_not_submitted_as_a_file(tmp_path):
    notebook = new_notebook(cells=[new_code_cell("def f():\n    return 1\n")])
    (tmp_path / "pia").mkdir()
    nbformat.write(notebook, tmp_path / "pia" / "work.ipynb")
    (tmp_path / "pia" / "sampling.py").write_text("def g():\n    return 2\n")
    found = discover([tmp_path / "pia"], ["attention", "sampling", "char_lm"])[0]
    assert found.problem == "" and found.notebook == "work.ipynb"
    assert sorted(found.files) == ["attention.py", "char_lm.py", "sampling.py", "work.ipynb"]
    assert found.files["sampling.py"] == b"def g():\n    return 2\n"   # a file submitted as such is kept
    assert b"def f():" in found.files["attention.py"] and b"def f():" in found.files["char_lm.py"]
