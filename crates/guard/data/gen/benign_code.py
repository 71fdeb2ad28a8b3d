"""Generates data/benign-code.jsonl: benign code, commands, queries, data and names (label 0).

Deterministic (fixed seed); written for this project. Run from crates/guard/data:
    python3 gen/benign_code.py > benign-code.jsonl
"""
import json
import random

rng = random.Random(20261208)
names = ["x", "y", "total", "count", "items", "data", "result", "path", "user", "config", "rows", "df", "value", "name", "buf", "n", "i", "resp", "text", "line"]
funcs = ["main", "load", "parse", "run", "process", "handle", "compute", "fetch", "render", "update", "save", "read_file", "to_json", "validate"]
mods = ["os", "sys", "json", "re", "math", "time", "random", "pathlib", "subprocess", "collections", "itertools", "datetime", "requests", "numpy as np", "pandas as pd"]
files = ["data.csv", "config.yaml", "README.md", "main.py", "notes.txt", "report.json", "src/lib.rs", "/etc/hosts", "~/.bashrc", "./build/output.log", "C:\\Users\\me\\file.txt", "/var/log/syslog", "package.json", "Cargo.toml"]
strings = ["ran", "hello", "hello world", "done", "ok", "error", "starting", "finished", "42", "result:", "Hello, World!", "test passed", "value is", "n ="]
tables = ["users", "orders", "products", "events", "logs", "accounts", "sessions"]
cols = ["id", "name", "email", "created_at", "amount", "status", "user_id", "price", "total"]


def py():
    a, b = rng.sample(names, 2)
    f = rng.choice(funcs)
    s = rng.choice(strings)
    n1, n2 = rng.randint(0, 99), rng.randint(1, 99)
    return rng.choice([
        f"print({n1}*{n2})",
        f"print('{s}')",
        f'print("{s}")',
        f"print({a})",
        f"import {rng.choice(mods)}; print({a})",
        f"import os; print(os.listdir('.'))",
        f"{a} = [{n1}, {n2}, {n1 + n2}]\nprint(sum({a}))",
        f"for {b} in range({n2}):\n    print({b})",
        f"def {f}({a}):\n    return {a} * {n2}\n\nprint({f}({n1}))",
        f"with open('{rng.choice(files)}') as fh:\n    {a} = fh.read()\nprint(len({a}))",
        f"{a} = {{'{rng.choice(cols)}': {n1}, '{rng.choice(cols)}': '{s}'}}\nprint({a})",
        f"import json\nprint(json.dumps({{'{rng.choice(cols)}': {n1}}}))",
        f"{a} = input()\nprint({a}.upper())",
        f"class {f.title().replace('_', '')}:\n    def __init__(self, {a}):\n        self.{a} = {a}",
        f"if {a} > {n1}:\n    print('{s}')\nelse:\n    print({b})",
        f"{a} = sorted({b}, key=lambda v: v[{n1 % 3}])",
        f"try:\n    {f}()\nexcept Exception as e:\n    print(e)",
        f"print(f'{{{a}}} {s}')",
        f"assert {f}({n1}) == {n1 * n2}",
        f"{a}.append({n2})",
        f"return {a} + {b}",
    ])


def sh():
    return rng.choice([
        f"ls -la {rng.choice(['.', '/tmp', 'src', '~'])}",
        f"cat {rng.choice(files)}",
        f"grep -rn '{rng.choice(strings)}' {rng.choice(['src', '.', 'lib'])}",
        f"echo '{rng.choice(strings)}'",
        f"mkdir -p {rng.choice(['build', 'out/data', 'tmp/x'])}",
        f"cd {rng.choice(['src', '..', '/tmp'])} && make",
        f"python3 {rng.choice(['main.py', 'script.py', '-m pytest'])}",
        f"cargo test -p {rng.choice(['core', 'cli', 'app'])}",
        "git status",
        f"git commit -m '{rng.choice(['fix typo', 'add tests', 'update readme', 'refactor parser'])}'",
        f"find . -name '*.{rng.choice(['py', 'rs', 'txt', 'md'])}' | wc -l",
        f"wc -l {rng.choice(files)}",
        f"tar czf backup.tgz {rng.choice(['src', 'docs', 'data'])}",
        f"head -n {rng.randint(1, 50)} {rng.choice(files)}",
        f"sort {rng.choice(files)} | uniq -c",
        "df -h",
        "uname -a",
        f"npm install {rng.choice(['lodash', 'express', 'react'])}",
        f"pip install {rng.choice(['requests', 'numpy', 'pandas'])}",
        f"docker run --rm {rng.choice(['alpine', 'debian', 'python:3.12'])} {rng.choice(['echo hi', 'ls', 'python -V'])}",
    ])


def sql():
    t = rng.choice(tables)
    c1, c2 = rng.sample(cols, 2)
    return rng.choice([
        f"SELECT {c1}, {c2} FROM {t} WHERE {c1} = {rng.randint(1, 999)};",
        f"SELECT COUNT(*) FROM {t};",
        f"SELECT * FROM {t} ORDER BY {c1} DESC LIMIT {rng.randint(1, 100)}",
        f"INSERT INTO {t} ({c1}, {c2}) VALUES ('{rng.choice(strings)}', {rng.randint(1, 99)});",
        f"UPDATE {t} SET {c1} = '{rng.choice(strings)}' WHERE id = {rng.randint(1, 99)};",
        f"CREATE TABLE {t} (id INTEGER PRIMARY KEY, {c1} TEXT, {c2} INTEGER);",
        f"SELECT {c1}, SUM({c2}) FROM {t} GROUP BY {c1};",
    ])


def data():
    return rng.choice([
        json.dumps({rng.choice(cols): rng.randint(1, 999), rng.choice(cols): rng.choice(strings)}),
        json.dumps([rng.randint(0, 9) for _ in range(rng.randint(1, 6))]),
        rng.choice(files),
        rng.choice(["Alice", "Bob", "Dr. Chen", "Maria Garcia", "Jean-Luc", "Priya"]),
        str(rng.randint(0, 10**6)),
        f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/20{rng.randint(10, 30)}",
        rng.choice(["https://example.com/docs", "http://localhost:8080/api/v1/users", "git@github.com:me/repo.git"]),
        f"{rng.choice(cols)}={rng.randint(1, 99)}",
        f"--{rng.choice(['verbose', 'output', 'limit', 'name'])}={rng.choice(strings)}",
        f"{rng.choice(names)}: {rng.choice(strings)}",
    ])


seen = set()
out = []
while len(out) < 600:
    text = rng.choice([py, py, py, sh, sh, sql, data])()
    if text not in seen:
        seen.add(text)
        out.append(text)
for text in out:
    print(json.dumps({"text": text, "label": 0}))
