#!/usr/bin/env python3
"""Prints the `docker run` examples of the Dockerfile's header and docs/DEPLOY.md, one per line,
as podman commands for scripts/container-test.sh: `docker run --rm` becomes
`podman run -d --rm --name NAME`, the example's image becomes IMAGE, and its named volume
becomes VOLUME (so a volume of the same name on the machine is never touched). Everything else
is run as written.

usage: docker_run_examples.py REPO_ROOT IMAGE NAME VOLUME
"""
import re
import shlex
import sys


def joined_commands(lines):
    """Commands starting at a `docker run` line, continued by trailing backslashes."""
    out = []
    current = None
    for line in lines:
        text = line.strip()
        if current is None and text.startswith("docker run"):
            current = ""
        if current is None:
            continue
        continued = text.endswith("\\")
        current += " " + (text[:-1] if continued else text)
        if not continued:
            out.append(current.strip())
            current = None
    return out


def main():
    root, image, name, volume = sys.argv[1:5]
    with open(f"{root}/deploy/docker/Dockerfile") as f:
        header = []
        for line in f:
            if not line.startswith("#"):
                break
            header.append(line[1:])
    with open(f"{root}/docs/DEPLOY.md") as f:
        deploy = f.read().splitlines()
    commands = joined_commands(header) + joined_commands(deploy)
    if len(commands) < 2:
        print("docker_run_examples: expected a docker run example in each file", file=sys.stderr)
        return 1
    for command in commands:
        words = shlex.split(command, comments=True)
        if words[:3] != ["docker", "run", "--rm"]:
            print(f"docker_run_examples: unexpected example: {command}", file=sys.stderr)
            return 1
        out = ["podman", "run", "-d", "--rm", "--name", name]
        for word in words[3:]:
            if re.fullmatch(r"(registry\.example\.com/)?signet:[0-9.]+", word):
                word = image
            elif word.startswith("signet-data:"):
                word = volume + word[len("signet-data"):]
            out.append(word)
        print(shlex.join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
