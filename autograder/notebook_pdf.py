"""PDFs of students' notebooks, for grading their written answers by hand (on Gradescope, say).

``rnnkit grade`` keeps each student's notebook beside the gradebook (see
:mod:`autograder.free_response`); ``rnnkit report --format pdf`` turns each into
``OUT/pdf/<assignment>/<student>.pdf`` with otter-grader's exporter
(``otter.export.export_notebook``), from the optional extra ``pip install "rnnkit[otter]"``.

Otter has two exporters:

- ``html``: its HTML template, printed to PDF by Chromium through nbconvert's WebPDF
  exporter and Playwright. Playwright looks for a browser of its own (``playwright
  install chromium``, a download); where it has none, the system's Chromium (``chromium``
  on the PATH, as on this kit's CI machines) is used instead. A student's notebook is their
  content, not code the grader runs, and the PDF goes back to places students can see: the
  page is printed with JavaScript off and every request but the page itself refused (no
  network, and no ``<iframe src="file:///...">`` that would print a file of the grading
  machine into the PDF). Formulas therefore show as LaTeX source, not typeset.
- ``latex``: nbconvert's LaTeX route, which needs ``pandoc`` and ``xelatex`` on the PATH.
  TeX runs with ``openin_any=p`` (no absolute paths or parent folders, so no
  ``\\input{/etc/passwd}``) and no shell escape.

``auto`` takes ``html`` where a Chromium is found, else ``latex`` where both tools are.

Before export, a copy of the notebook gets otter's question markers around each
free-response question (its prompt and the answer cell after it) and a bold "Answer"
label on the answer, so a grader finds it at a glance. With ``questions_only``, otter's
filter keeps just those questions, each followed by a page break: the layout a
Gradescope PDF assignment needs to assign pages to questions.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import importlib.util
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.free_response import FreeResponseError, read_notebook

EXPORTERS = ("auto", "html", "latex")
INSTALL = 'pip install "rnnkit[otter]"'
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class PdfUnavailable(Exception):
    """No PDF can be made here: otter-grader or the exporter's tools are missing."""


@dataclass
class PdfExport:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)   # (student, why)


def otter_installed() -> bool:
    return importlib.util.find_spec("otter") is not None and importlib.util.find_spec("nbconvert") is not None


def system_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@functools.lru_cache(maxsize=1)
def _playwright_chromium() -> str | None:
    """Playwright's own Chromium, where one was installed (``playwright install chromium``)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    try:
        with sync_playwright() as p:
            path = p.chromium.executable_path
    except Exception:  # noqa: BLE001 (no driver, or none installed)
        return None
    return path if path and os.path.exists(path) else None


def choose_exporter(wanted: str = "auto") -> str:
    """``"html"`` or ``"latex"``: the exporter to use, or :class:`PdfUnavailable` saying what to install."""
    if wanted not in EXPORTERS:
        raise ValueError(f"the PDF exporter is one of {', '.join(EXPORTERS)}, not {wanted!r}")
    if not otter_installed():
        raise PdfUnavailable("the pdf format exports notebooks with otter-grader, which is not installed: "
                             f"{INSTALL} (in the environment rnnkit runs from)")
    chromium = importlib.util.find_spec("playwright") is not None and (system_chromium() or _playwright_chromium())
    latex = shutil.which("xelatex") and shutil.which("pandoc")
    if wanted in ("auto", "html") and chromium:
        return "html"
    if wanted in ("auto", "latex") and latex:
        return "latex"
    needs = {"html": "Chromium (apt-get install chromium, or `playwright install chromium`) and the playwright "
                     "package (installed with otter-grader)",
             "latex": "pandoc and xelatex on the PATH (Debian: apt-get install pandoc texlive-xetex "
                      "texlive-fonts-recommended texlive-plain-generic)"}
    if wanted == "auto":
        raise PdfUnavailable(f"no PDF exporter can run here: otter's html exporter needs {needs['html']}; "
                             f"its latex exporter needs {needs['latex']}")
    raise PdfUnavailable(f"otter's {wanted} exporter needs {needs[wanted]}")


_lock = threading.Lock()   # otter sets nbconvert's class attributes while it exports


BEGIN_QUESTION, END_QUESTION = "<!-- BEGIN QUESTION -->", "<!-- END QUESTION -->"   # otter's markers


def marked_copy(data: bytes, name: str) -> nbformat.NotebookNode:
    """The notebook with otter's question markers around each free-response question and an
    "Answer" label on its answer cell (the cell right after the prompt)."""
    notebook = read_notebook(data, name)
    cells, after_prompt = [], False
    for cell in notebook.cells:
        mark = cell.get("metadata", {}).get("rnnkit", {})
        prompt = isinstance(mark, dict) and "free_response" in mark
        if after_prompt:
            if not prompt:   # the answer
                if cell.cell_type == "markdown":
                    cell.source = f"**Answer ({mark.get('answer') or 'free response'}):**\n\n{cell.source}"
                cells.append(cell)
            cells.append(nbformat.v4.new_markdown_cell(END_QUESTION))
            after_prompt = False
            if not prompt:
                continue
        if prompt:
            cell.source = f"{BEGIN_QUESTION}\n\n{cell.source}"
            after_prompt = True
        cells.append(cell)
    if after_prompt:
        cells.append(nbformat.v4.new_markdown_cell(END_QUESTION))
    notebook.cells = cells
    for cell in notebook.cells:
        cell.pop("id", None)   # new cells have none; an id-less notebook is valid at 4.4
    notebook.nbformat_minor = min(notebook.get("nbformat_minor", 4), 4)
    return notebook


def export_notebook(notebook: Path, dest: Path, exporter: str, questions_only: bool = False) -> Path:
    """One notebook to one PDF with otter's ``exporter`` ("html" or "latex"); with
    ``questions_only``, just its free-response questions, a page each."""
    import nbconvert
    from otter.export import export_notebook as otter_export

    dest.parent.mkdir(parents=True, exist_ok=True)
    options = {"filtering": questions_only, "pagebreaks": questions_only}
    with tempfile.TemporaryDirectory(prefix="rnnkit-pdf-") as scratch:
        copy = Path(scratch) / notebook.name
        nbformat.write(marked_copy(notebook.read_bytes(), notebook.name), copy)
        with _lock, _restored(nbconvert.TemplateExporter, "template_name", "extra_template_basedirs"):
            if exporter == "html":
                with _restored(nbconvert, "WebPDFExporter"):
                    nbconvert.WebPDFExporter = _offline_webpdf(nbconvert.WebPDFExporter)
                    otter_export(str(copy), dest=str(dest), exporter_type="html", **options)
            else:
                with _environment(openin_any="p", openout_any="p", shell_escape="f"):   # read by kpathsea
                    otter_export(str(copy), dest=str(dest), exporter_type="latex", **options)
    if not dest.is_file():
        raise RuntimeError(f"otter wrote no PDF for {notebook.name}")
    return dest


def export_class(notebooks: dict[str, Path], folder: Path, exporter: str, on_done=None,
                 questions_only: bool = False) -> PdfExport:
    """``folder/<student>.pdf`` for each of ``notebooks`` (student -> notebook); a notebook that
    fails is listed with the reason, and the others go on."""
    result = PdfExport()
    for student, notebook in sorted(notebooks.items()):
        try:
            result.written.append(export_notebook(notebook, folder / f"{student}.pdf", exporter, questions_only))
        except FreeResponseError as exc:
            result.failed.append((student, str(exc)))
        except Exception as exc:  # noqa: BLE001 (a broken notebook, a failing renderer: say which and why)
            why = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            result.failed.append((student, f"{notebook.name}: {why}"))
        if on_done is not None:
            on_done(student)
    return result


@contextlib.contextmanager
def _environment(**values):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _restored(owner, *names):
    saved = {name: owner.__dict__[name] for name in names if name in owner.__dict__}
    try:
        yield
    finally:
        for name in names:
            if name in saved:
                setattr(owner, name, saved[name])
            elif name in owner.__dict__:
                delattr(owner, name)


def _offline_webpdf(base):
    """nbconvert's WebPDF exporter, printing with JavaScript off and no network, with the
    system's Chromium where Playwright has no browser of its own."""

    class OfflineWebPDFExporter(base):
        def run_playwright(self, html):
            return _print_html(html, self.paginate, getattr(self, "page_render_timeout", 0))

    return OfflineWebPDFExporter


def _print_html(html: str, paginate: bool, settle_ms: int, refused: list | None = None) -> bytes:
    """``html`` printed to PDF by Chromium, with JavaScript off and no request allowed but the
    page's own; the URLs refused are appended to ``refused``."""
    from playwright.async_api import async_playwright

    executable = _playwright_chromium() or system_chromium()
    args = ["--no-sandbox"] if os.geteuid() == 0 else []   # Chromium's sandbox refuses to run as root

    async def main(page_file: str) -> bytes:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=executable, args=args, handle_sigint=False,
                                                       handle_sigterm=False, handle_sighup=False)
            try:
                page = await browser.new_page(java_script_enabled=False)
                page_url = Path(page_file).as_uri()

                async def only_the_page(route):
                    if route.request.url == page_url:
                        await route.continue_()
                    else:
                        if refused is not None:
                            refused.append(route.request.url)
                        await route.abort()

                await page.route("**/*", only_the_page)
                await page.emulate_media(media="print")
                await page.goto(page_url, wait_until="load")
                if settle_ms:
                    await page.wait_for_timeout(settle_ms)
                options = {"print_background": True}
                if not paginate:
                    options.update(width="8.5in", height="11in")
                return await page.pdf(**options)
            finally:
                await browser.close()

    with tempfile.TemporaryDirectory(prefix="rnnkit-pdf-") as scratch:
        page_file = os.path.join(scratch, "notebook.html")
        with open(page_file, "w", encoding="utf-8") as f:
            f.write(html)
        # nbconvert may be called where an event loop runs (Jupyter): print in a thread of its own
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, main(page_file)).result()
