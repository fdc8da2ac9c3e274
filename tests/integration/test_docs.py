"""The D-Bus documentation is true: every member of the introspection XML
is documented, the reference rendered from it is well-formed, and every
command in docs/dbus-examples.md runs against a test service and prints
what the doc shows."""

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache

import pytest

import guest
from harness import BUILD, SOURCE, Stack, unique, vm_path, wait_for

EXAMPLES = os.path.join(SOURCE, "docs", "dbus-examples.md")
XML = [os.path.join(SOURCE, "introspection", f"org.projectvm.{i}.xml")
       for i in ("Manager", "VM")]
REFERENCE = [os.path.join(BUILD, "docs", f"dbus-org.projectvm.{i}.rst")
             for i in ("Manager", "VM")]
# The names the doc uses, longest first, and the privileged methods.
DOC_NAMES = ["scratch2", "scratch", "web"]
POLKIT_METHODS = {"Create", "Start", "Stop", "Destroy", "OpenConsole", "DeleteKeptDisk"}


# -- the XML and the reference rendered from it --

def parsed_interfaces():
    """The XML as gdbus-codegen reads it (its parser, with the doc comments)."""
    sys.path.insert(0, "/usr/share/glib-2.0")
    from codegen import parser
    out = []
    for path in XML:
        with open(path) as f:
            out += parser.parse_dbus_xml(f.read(), True)
    return out


def test_every_member_and_argument_is_documented():
    for iface in parsed_interfaces():
        assert iface.doc_string_brief.strip() and iface.doc_string.strip(), iface.name
        members = iface.methods + iface.signals + iface.properties
        for m in members:
            where = f"{iface.name}.{m.name}"
            assert m.doc_string.strip(), f"{where} has no doc"
            # gdbus-codegen's reST turns @word and %word into markup.
            assert not re.search(r"[@%]", m.doc_string), f"{where}: @ or % in its text"
        for m in iface.methods:
            where = f"{iface.name}.{m.name}"
            for arg in m.in_args + m.out_args:
                assert arg.doc_string.strip(), f"{where}: argument {arg.name} has no doc"
            assert "Errors:" in m.doc_string, f"{where} does not say its errors"
            if m.name in POLKIT_METHODS:
                assert "Authorization: org.projectvm." in m.doc_string, \
                    f"{where} does not name its polkit action"
        for s in iface.signals:
            for arg in s.args:
                assert arg.doc_string.strip(), f"{iface.name}.{s.name}: argument {arg.name} has no doc"


def test_reference_is_rendered_and_well_formed():
    for iface, path in zip(parsed_interfaces(), REFERENCE):
        text = open(path).read()
        for m in iface.methods:
            assert f"{iface.name}.{m.name}\n" in text
        for s in iface.signals:
            assert f"{iface.name}::{s.name}\n" in text
        for p in iface.properties:
            assert f"{iface.name}:{p.name}\n" in text
    docutils = pytest.importorskip("docutils.core")
    for path in REFERENCE:
        # Any warning (a broken link, bad markup) is an error.
        docutils.publish_doctree(open(path).read(), source_path=path,
                                 settings_overrides={"halt_level": 2, "report_level": 2})


# -- the examples --

@dataclass
class Example:
    command: str
    expected: list = field(default_factory=list)
    status: int = 0

    @property
    def watches(self):
        return " monitor" in self.command


def parse_examples(text):
    """Each `$ ` line of the ```sh blocks (continued by a trailing \\), the
    lines it printed, and "# exits N" when its status is not 0."""
    found, fence, continued = [], None, False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = line[3:] if fence is None else None
            continue
        if fence != "sh":
            continue
        if continued:
            found[-1].command += "\n" + line
        elif line.startswith("$ "):
            found.append(Example(line[2:]))
        elif line.startswith("# exits "):
            found[-1].status = int(line.split()[2])
        elif line.strip():
            found[-1].expected.append(line)
        continued = line.endswith("\\")
    return found


def line_pattern(line):
    return re.compile(".*".join(re.escape(part) for part in line.split("...")))


def shows(output, expected, more_follows=False):
    """Whether OUTPUT is EXPECTED: line by line, each "..." in a line any
    text, a line "..." any lines (none included)."""
    lines = output.splitlines()

    @lru_cache(maxsize=None)
    def match(i, j):
        if j == len(expected):
            return more_follows or i == len(lines)
        if expected[j] == "...":
            return any(match(k, j + 1) for k in range(i, len(lines) + 1))
        return (i < len(lines) and line_pattern(expected[j]).fullmatch(lines[i]) is not None
                and match(i + 1, j + 1))
    return match(0, 0)


class Watch:
    """A monitor example running in the background, its output collected."""

    def __init__(self, example, env):
        self.example = example
        self.proc = subprocess.Popen(["bash", "-c", example.command], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.output = ""
        threading.Thread(target=self.collect, daemon=True).start()
        wait_for(lambda: self.output, timeout=10, what=f"{example.command!r} to start")
        time.sleep(0.5)   # its match rules are in place once it printed

    def selection(self):
        """The lines the doc shows, with any lines allowed between them."""
        return [part for line in self.example.expected for part in ("...", line)]

    def collect(self):
        for line in self.proc.stdout:
            self.output += line

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def substitute(text, names):
    for doc, real in names.items():
        text = re.sub(rf"/org/projectvm/vm/{doc}\b", vm_path(real), text)
        text = re.sub(rf"\b{doc}\b", real, text)
    return text


def real_example(example, names):
    return Example(substitute(example.command, names),
                   [substitute(line, names) for line in example.expected],
                   example.status)


@pytest.fixture(scope="module")
def docs_stack():
    """The shipped config's image name, for a tiny guest that boots in
    seconds and powers off on ACPI."""
    images = {"debian-12": guest.tiny_images()["tiny"]}
    with Stack(images=images, config_overrides={"defaults": {"image": "debian-12"}}) as s:
        yield s


def test_examples_run_as_shown(docs_stack):
    stack = docs_stack
    examples = parse_examples(open(EXAMPLES).read())
    assert len(examples) >= 20 and any(e.watches for e in examples)
    names = {doc: unique(doc) for doc in DOC_NAMES}
    stack.created_domains.update(f"project-{n}" for n in names.values())
    stack.create(names["web"])

    watches = []
    try:
        for example in (real_example(e, names) for e in examples):
            if example.watches:
                watches.append(Watch(example, stack.env))
                continue
            r = subprocess.run(["bash", "-c", example.command], env=stack.env,
                               capture_output=True, text=True, timeout=900)
            printed = r.stdout + r.stderr
            assert r.returncode == example.status, f"$ {example.command}\n{printed}"
            assert shows(printed, example.expected), \
                f"$ {example.command}\nprinted:\n{printed}\nthe doc shows:\n" + \
                "\n".join(example.expected)
        # A watch shows a selection of its lines: other VMs' come between.
        for w in watches:
            wait_for(lambda: shows(w.output, w.selection(), more_follows=True),
                     timeout=10, what=f"{w.example.command!r} to show what the doc says:\n"
                     + "\n".join(w.example.expected))
    finally:
        for w in watches:
            w.stop()
        for w in watches:
            if not shows(w.output, w.selection(), more_follows=True):
                print(f"$ {w.example.command}\n{w.output}")


def test_example_parser_and_matcher():
    text = "```sh\n$ a \\\n  b\nout ... x\n...\nend\n$ c\n# exits 1\n```\n```\n$ not run\n```\n"
    first, second = parse_examples(text)
    assert first.command == "a \\\n  b" and first.expected == ["out ... x", "...", "end"]
    assert second.command == "c" and second.status == 1 and second.expected == []
    assert shows("out 1 x\nend", first.expected)
    assert shows("out 1 x\nmore\nlines\nend", first.expected)
    assert not shows("out 1 y\nend", first.expected)
    assert not shows("out 1 x\nend\nextra", first.expected)
    assert shows("out 1 x\nend\nextra", first.expected, more_follows=True)
    assert shows("", [])
    assert substitute("/org/projectvm/vm/web GetVM s web scratch2 scratch",
                      {"scratch2": "s2-x", "scratch": "s-y", "web": "web-z"}) == \
        "/org/projectvm/vm/web_z GetVM s web-z s2-x s-y"
