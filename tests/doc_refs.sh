#!/bin/sh
# doc_refs.sh - fails on a reference to a document of doc/ that does not
# resolve: a doc/ file that is not there, a section number (§N.N) or a quoted
# heading the file does not have, or one of the project's own documents named
# without its doc/ prefix. The form of a reference is doc/style.md §9.
#
#   tests/doc_refs.sh            check the tree (top_srcdir, else beside this script)
#   tests/doc_refs.sh --self-test  check that the checker catches each kind of bad reference
top=${top_srcdir:-$(dirname "$0")/..}
exec python3 - "$top" "$@" <<'PY'
import os
import re
import sys

top = sys.argv[1]
self_test = "--self-test" in sys.argv[2:]

# The documents that must be cited with their doc/ prefix.
OWN = ("design", "protocol", "style")
SCAN_DIRS = ("src", "tests", "doc", "bench", "cards", "pki", ".ci")
SCAN_TOP = ("README.md", "Makefile.am", "configure.ac", "quickstart.sh")
SKIP_DIRS = {"corpus", ".git", "autom4te.cache", ".deps"}
TEXT_EXT = re.compile(r"\.(c|h|sh|py|md|mk|am|ac|txt|1|5|conf|xml|cnf|in)$|^[^.]+$")

NUM = r"[0-9]+(?:\.[0-9]+)*"
REF = re.compile(
    r"(?<![\w.-])doc/(?P<file>[\w.-]+\.(?:md|1|5))`?"
    r"(?P<sec>\s*§\s*" + NUM + r"(?:\s*(?:[-–,]|and)\s*§?\s*" + NUM + r")*)?"
    r"(?P<head>\s*\"[^\"\s][^\"\n]*\")?")
BARE = re.compile(r"(?<![\w/.-])(?:" + "|".join(OWN) + r")\.md\b")
SHARED = re.compile(r"/work/shared/")
HEADING = re.compile(r"^#+\s+(.*?)\s*#*\s*$")
HNUM = re.compile(r"^(" + NUM + r")\.?(?:\s+(.*))?$")


def anchors(path, cache={}):
    """Section numbers and heading texts of a markdown file."""
    if path in cache:
        return cache[path]
    nums, heads = set(), set()
    fence = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("```"):
                fence = not fence
                continue
            m = None if fence else HEADING.match(line)
            if not m:
                continue
            text = m.group(1)
            heads.add(text)
            n = HNUM.match(text)
            if n:
                nums.add(n.group(1))
                if n.group(2):
                    heads.add(n.group(2))
    cache[path] = (nums, heads)
    return cache[path]


def sections(spec):
    """'§1.6-§1.10, §1.14' -> ['1.6', '1.10', '1.14']; '§7.5.10-11' -> 7.5.10, 7.5.11."""
    out = []
    for m in re.finditer(r"([-–,]|and)?\s*(§)?\s*(" + NUM + ")", spec):
        sep, mark, num = m.groups()
        if out and sep in ("-", "–") and not mark:
            last = out[-1].split(".")
            tail = num.split(".")
            num = ".".join(last[: len(last) - len(tail)] + tail)
        out.append(num)
    return out


def check_text(name, text, docdir):
    errors = []
    for lineno, line in enumerate(text.splitlines(), 1):
        where = "%s:%d" % (name, lineno)
        for m in BARE.finditer(line):
            errors.append("%s: '%s' without doc/: write doc/%s" % (where, m.group(0), m.group(0)))
        if SHARED.search(line):
            errors.append("%s: a link outside the project (/work/shared/)" % where)
        for m in REF.finditer(line):
            path = os.path.join(docdir, m.group("file"))
            if not os.path.isfile(path):
                errors.append("%s: doc/%s does not exist" % (where, m.group("file")))
                continue
            if not path.endswith(".md"):
                continue
            nums, heads = anchors(path)
            if m.group("sec"):
                for s in sections(m.group("sec")):
                    if s not in nums:
                        errors.append("%s: doc/%s has no section §%s" % (where, m.group("file"), s))
            if m.group("head"):
                h = m.group("head").strip()[1:-1]
                if h not in heads:
                    errors.append('%s: doc/%s has no heading "%s"' % (where, m.group("file"), h))
    return errors


def files():
    for d in SCAN_DIRS:
        for root, dirs, names in os.walk(os.path.join(top, d)):
            dirs[:] = [x for x in dirs if x not in SKIP_DIRS]
            for n in names:
                if TEXT_EXT.search(n) and n != "doc_refs.sh":
                    yield os.path.join(root, n)
    for n in SCAN_TOP:
        p = os.path.join(top, n)
        if os.path.isfile(p):
            yield p


def selftest():
    import tempfile
    d = tempfile.mkdtemp()
    # The names are made here, so that this source names no document: {p}
    # is a fixture written below, {q} one never written, {design} etc. the
    # project's own documents without their doc/ prefix, {shared} a path
    # outside the project.
    ext = "." + "md"
    names = {"p": "fixture-%d" % os.getpid() + ext, "q": "missing-%d" % os.getpid() + ext,
             "shared": "/" + "/".join(("work", "shared", OWN[0] + ext))}
    names.update((k, k + ext) for k in OWN)
    with open(os.path.join(d, names["p"]), "w") as f:
        f.write("# P\n## 1. One\n### 1.2 Two words\n```\n## 9. fenced, not a heading\n```\n")
    good = ['doc/{p}', 'doc/{p} §1', 'doc/{p} §1.2', '`doc/{p}` §1.2',
            'doc/{p} §1-§1.2', 'doc/{p} "Two words"', 'doc/{p} "1.2 Two words"',
            'doc/{p} §1.2, §1', 'TS 102 223 §8.56']
    bad = ['doc/{q}', 'doc/{p} §2', 'doc/{p} §1.3', 'doc/{p} §1-§1.5',
           'doc/{p} §9', 'doc/{p} "Three"', 'see {design}', '({protocol} §1)',
           '{style}', '{shared}', 'doc/{p} §1.2, §7']
    good = [t.format(**names) for t in good]
    bad = [t.format(**names) for t in bad]
    fails = 0
    for t in good:
        e = check_text("good", t, d)
        if e:
            print("self-test: flagged a good reference: %r: %s" % (t, e))
            fails += 1
    for t in bad:
        if not check_text("bad", t, d):
            print("self-test: missed a bad reference: %r" % t)
            fails += 1
    print("self-test: %d good, %d bad references, %d wrong" % (len(good), len(bad), fails))
    return fails


fails = selftest()
if self_test:
    sys.exit(1 if fails else 0)
if fails:
    sys.exit(99)
docdir = os.path.join(top, "doc")
errors, n = [], 0
for p in sorted(set(files())):
    try:
        with open(p, encoding="utf-8") as f:
            text = f.read()
    except (UnicodeDecodeError, OSError):
        continue
    n += 1
    errors += check_text(os.path.relpath(p, top), text, docdir)
for e in errors:
    print(e)
if errors:
    print("%d unresolved document references (the form: doc/style.md §9)" % len(errors))
    sys.exit(1)
print("every document reference in %d files resolves" % n)
PY
