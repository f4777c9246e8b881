#!/usr/bin/env python3
"""Checks the dynamic symbol table of libminivmm.so against the public headers.

Usage: check_exports.py NM_OUTPUT NM_DEMANGLED_OUTPUT INCLUDE_DIR, where the two files are
`nm -D --defined-only` without and with -C (same symbols, same order).

Every export must be public API: a C function that minivmm.h declares, or a C++ symbol of
namespace minivmm whose first name after `minivmm::` is declared in the public headers (types,
functions), never the Machine::Impl behind the pimpl. Nothing of libstdc++, fmt, spdlog, Boost,
nlohmann or tl leaks as an export of its own. Conversely, every C function of minivmm.h, every
MINIVMM_API C++ free function and every out-of-line public member of a MINIVMM_API class must be
exported (a declaration without a definition, or one hidden by a missing mark, fails here rather
than at an embedder's link). Prints a summary and each problem; exits 1 if there is any.
"""
import pathlib
import re
import sys

# Prefixes the demangler puts before the name of data the ABI emits for a class.
SPECIAL_PREFIXES = ("typeinfo name for ", "typeinfo for ", "vtable for ", "VTT for ",
                    "non-virtual thunk to ", "virtual thunk to ", "guard variable for ")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r'"(\\.|[^"\\])*"', '""', text)


def read_symbols(path):
    symbols = []
    for line in pathlib.Path(path).read_text().splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3:
            symbols.append((parts[1], parts[2]))
    return symbols


def class_bodies(code):
    """(name, public member text) of every `class MINIVMM_API Name { ... };`."""
    for m in re.finditer(r"class\s+MINIVMM_API\s+(\w+)[^{;]*\{", code):
        depth, i = 1, m.end()
        while depth and i < len(code):
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        body = code[m.end():i - 1]
        public, section = [], "private"  # a class starts private
        for piece in re.split(r"\b(public|private|protected)\s*:", body):
            if piece in ("public", "private", "protected"):
                section = piece
            elif section == "public":
                public.append(piece)
        yield m.group(1), "\n".join(public)


def out_of_line_members(name, body):
    """Member functions declared (not defined) in the class body: they need an export."""
    members = set()
    depth, decl = 0, ""
    for ch in body:
        if ch == "{":
            depth += 1  # an inline definition (or a brace initializer): nothing to export
        elif ch == "}":
            depth -= 1
            if depth == 0:
                decl = ""
        elif depth == 0 and ch == ";":
            if "= delete" not in decl and "= default" not in decl:
                m = re.search(r"(~?\w+)\s*\(", decl)
                if m:
                    members.add(f"{name}::{m.group(1)}")
            decl = ""
        elif depth == 0:
            decl += ch
    return members


def main():
    raw, demangled, include_dir = sys.argv[1:4]
    headers = sorted(pathlib.Path(include_dir).glob("*.h*"))
    code = {h.name: strip_comments(h.read_text()) for h in headers}
    c_api = set(re.findall(r"MINIVMM_API\b[^;(]*?\b(minivmm_\w+)\s*\(", code.get("minivmm.h", "")))
    cpp_code = "\n".join(v for k, v in code.items() if k.endswith(".hpp"))
    public_names = set(re.findall(r"\b[A-Za-z_]\w*\b", cpp_code))
    required_cpp = {f"minivmm::{n}" for n in
                    re.findall(r"MINIVMM_API\b[^;({}]*?\b(\w+)\s*\(", cpp_code)}
    for cls, body in class_bodies(cpp_code):
        required_cpp |= {f"minivmm::{m}" for m in out_of_line_members(cls, body)}

    problems = []
    exported_c, exported_cpp = set(), set()
    raw_syms, nice_syms = read_symbols(raw), read_symbols(demangled)
    if len(raw_syms) != len(nice_syms):
        problems.append("the two nm listings differ in length")
    for (kind, mangled), (_, nice) in zip(raw_syms, nice_syms):
        if not mangled.startswith("_Z"):
            if mangled in c_api:
                exported_c.add(mangled)
            else:
                problems.append(f"exported C symbol not declared in minivmm.h: {mangled} ({kind})")
            continue
        name = nice
        for prefix in SPECIAL_PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        m = re.match(r"minivmm::(~?\w+)", name)
        if not m:
            problems.append(f"exported symbol outside namespace minivmm: {nice} ({kind})")
        elif m.group(1) not in public_names:
            problems.append(f"exported internal symbol (minivmm::{m.group(1)} is not in the "
                            f"public headers): {nice} ({kind})")
        elif re.match(r"minivmm::Machine::Impl\b", name):
            problems.append(f"exported pimpl internals: {nice} ({kind})")
        else:
            exported_cpp.add(nice)
    for fn in sorted(c_api - exported_c):
        problems.append(f"minivmm.h declares {fn} but libminivmm.so does not export it")
    for fn in sorted(required_cpp):
        if not any(re.match(re.escape(fn) + r"(\(|<|\[abi:)", s) for s in exported_cpp):
            problems.append(f"public API {fn} is not exported (missing MINIVMM_API or definition)")

    print(f"exports: {len(raw_syms)} ({len(exported_c)} C functions, {len(exported_cpp)} C++ "
          f"symbols); required: {len(c_api)} C, {len(required_cpp)} C++")
    for p in problems:
        print(f"  {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
