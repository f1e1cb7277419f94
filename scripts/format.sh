#!/usr/bin/env bash
# Formats the C++ sources with clang-format and the repository's .clang-format.
#   scripts/format.sh           rewrites every file that is not formatted
#   scripts/format.sh --check   changes nothing; lists the files that are not formatted, exits 1 if any
#   scripts/format.sh [--check] FILE...   only those files
# Generated files are left as their generator writes them. CLANG_FORMAT names another binary.
set -euo pipefail
cd "$(dirname "$0")/.."

CLANG_FORMAT=${CLANG_FORMAT:-clang-format}
GENERATED=(proxy/command/command_table_data.cc)  # tools/gen_command_table.py

check=0
if [[ ${1:-} == --check ]]; then
  check=1
  shift
fi

if ! command -v "$CLANG_FORMAT" >/dev/null; then
  echo "format: $CLANG_FORMAT not found (scripts/install_deps.sh installs Debian's clang-format)" >&2
  exit 2
fi

files=()
if [[ $# -gt 0 ]]; then
  # Only C++ sources: clang-format would also rewrite a Python or YAML file it is handed.
  for f in "$@"; do
    case $f in
      *.h | *.cc) files+=("$f") ;;
      *) echo "format: skipping $f (not a C++ source)" >&2 ;;
    esac
  done
else
  # Tracked and new (not ignored) files, so a file not yet added is formatted too.
  while IFS= read -r f; do
    [[ -f $f ]] || continue
    for g in "${GENERATED[@]}"; do [[ $f == "$g" ]] && continue 2; done
    files+=("$f")
  done < <(git ls-files --cached --others --exclude-standard -- '*.h' '*.cc' | sort -u)
fi
[[ ${#files[@]} -eq 0 ]] && exit 0

if [[ $check -eq 0 ]]; then
  "$CLANG_FORMAT" -i --style=file "${files[@]}"
  exit 0
fi

bad=()
for f in "${files[@]}"; do
  "$CLANG_FORMAT" --style=file "$f" | cmp -s - "$f" || bad+=("$f")
done
if [[ ${#bad[@]} -gt 0 ]]; then
  echo "format: ${#bad[@]} file(s) not formatted (run scripts/format.sh):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "format: ${#files[@]} files formatted"
