#!/usr/bin/env python3
"""Derives scripts/releases/procedures.toml's [releases] table from the Canopsis release notes.

Run once, offline, when notes are added: the tests read the TOML, never the notes.

    scripts/tools/procedures_from_notes.py <release-notes dir> > /tmp/releases.toml

Rule (also written at the top of procedures.toml): a release is listed when the "## Procédure de
mise à jour" section of its note, cut at its first change-list heading (Liste des modifications,
Corrections de bugs, Améliorations), holds anything but the boilerplate: the link to the standard
procedure, "Il n'y a aucune/pas d'autre action..." and "Ne pas oublier de suivre les notes de
version X" (a reminder of an earlier release, which has its own entry). The evidence is what the
section holds: its sub-headings (verbatim), the migration guide it links, its admonitions and the
languages of its code blocks.
"""
import pathlib
import re
import sys

CHANGE_LISTS = ("Liste des modifications", "Corrections de bugs", "Améliorations")
BOILERPLATE = (
    re.compile(r"^Suivre la \[procédure standard"),
    re.compile(r"^Il n'y a (aucune|pas d'autre|aucune autre) action"),
    re.compile(r"^Ne pas oublier de suivre les \[notes de version"),
)


def version_key(name):
    return tuple(int(p) for p in name.split("."))


def section(text):
    lines = text.splitlines()
    out, inside, fence = [], False, False
    for line in lines:
        if line.startswith("```"):
            fence = not fence
        if not fence and re.match(r"^## ", line):
            if inside:
                break
            inside = line.startswith("## Procédure de mise à jour")
            continue
        if not inside:
            continue
        m = re.match(r"^#{3,}\s+(.*)", line)
        if not fence and m and m.group(1).startswith(CHANGE_LISTS):
            break
        out.append(line)
    return out


def evidence(lines):
    headings, code, admonitions, guide, other = [], [], [], None, False
    fence = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("```"):
            if not fence:
                code.append(stripped[3:].split()[0] if stripped[3:].strip() else "text")
            fence = not fence
            continue
        if fence or not stripped:
            continue
        m = re.match(r"^#{3,}\s+(.*)", line)
        if m:
            headings.append(m.group(1).strip())
            continue
        if stripped.startswith("!!!"):
            admonitions.append(stripped[3:].split()[0].lower())
            continue
        g = re.search(r"migration/(migration-[\d.]+\.md)", stripped)
        if g:
            guide = g.group(1)
            continue
        if any(b.search(stripped) for b in BOILERPLATE):
            continue
        other = True
    return headings, code, admonitions, guide, other


def main():
    notes = pathlib.Path(sys.argv[1])
    for path in sorted(notes.glob("*.md"), key=lambda p: version_key(p.stem)):
        headings, code, admonitions, guide, other = evidence(section(path.read_text()))
        if not (headings or code or admonitions or guide or other):
            continue
        fields = []
        if guide:
            fields.append(f'guide = "{guide}"')
        if headings:
            fields.append("headings = [" + ", ".join(f'"{h}"' for h in headings) + "]")
        if admonitions:
            fields.append("admonitions = [" + ", ".join(f'"{a}"' for a in admonitions) + "]")
        if code:
            fields.append("code = [" + ", ".join(f'"{c}"' for c in code) + "]")
        if other and not (headings or code or admonitions or guide):
            fields.append("text = true")
        print(f'"{path.stem}" = {{ {", ".join(fields)} }}')


if __name__ == "__main__":
    main()
