"""Sort the files at the top of a directory into sub-folders by type.

Only regular files directly inside the directory move; sub-directories, symbolic links and
hidden files are left alone. A name that already exists in the destination gets a numbered
suffix, so nothing is overwritten. With --dry-run nothing changes.
"""

import os
import sys

CATEGORIES = {
    "images": {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".svg", ".webp", ".tiff", ".heic"},
    "documents": {".pdf", ".doc", ".docx", ".odt", ".txt", ".md", ".rtf", ".xls", ".xlsx",
                  ".ods", ".csv", ".ppt", ".pptx", ".odp", ".epub"},
    "archives": {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst"},
    "audio": {".mp3", ".wav", ".flac", ".ogg", ".m4a", ".aac", ".opus"},
    "video": {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v"},
    "code": {".py", ".rs", ".js", ".ts", ".go", ".c", ".h", ".cpp", ".java", ".sh", ".rb",
             ".json", ".yaml", ".yml", ".toml", ".html", ".css"},
}


def category(name):
    ext = os.path.splitext(name)[1].lower()
    for folder, extensions in CATEGORIES.items():
        if ext in extensions:
            return folder
    return "other"


def free_name(folder, name):
    stem, ext = os.path.splitext(name)
    candidate, n = name, 1
    while os.path.lexists(os.path.join(folder, candidate)):
        candidate = f"{stem} ({n}){ext}"
        n += 1
    return candidate


def main(argv):
    if not argv or argv[0].startswith("-"):
        print("usage: organise.py DIR [--dry-run]", file=sys.stderr)
        return 2
    root, dry_run = argv[0], "--dry-run" in argv[1:]
    if not os.path.isdir(root):
        print(f"error: {root} is not a directory", file=sys.stderr)
        return 2
    moves = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
            continue
        moves.append((entry.name, category(entry.name)))
    counts = {}
    for name, folder in moves:
        counts[folder] = counts.get(folder, 0) + 1
        target_dir = os.path.join(root, folder)
        if dry_run:
            print(f"would move {name} -> {folder}/")
            continue
        os.makedirs(target_dir, exist_ok=True)
        target = free_name(target_dir, name)
        os.rename(os.path.join(root, name), os.path.join(target_dir, target))
        print(f"moved {name} -> {folder}/{target}")
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing to sort"
    print(("plan: " if dry_run else "sorted: ") + summary)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
