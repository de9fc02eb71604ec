"""Finding submissions: folders, zips, class folders, and clear messages for bad ones."""

import zipfile

from autograder.submissions import discover

MODULES = ["rnn_layers"]


def make_zip(path, entries):
    with zipfile.ZipFile(path, "w") as z:
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
