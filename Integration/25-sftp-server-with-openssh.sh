#!/usr/bin/env bash
# The real OpenSSH `sftp` client against our SFTP server, run directly over stdio
# (`sftp -D`), so this tests the SFTP layer alone, without SSH or the agent.
# A user's session: put and get a 50 MB file, list it, make and remove directories,
# rename, chmod, links, df, resumed transfers.
#
# Expects the harness binary in $SFTP_HARNESS (default: the debug build that `make test` makes first).
source "$(dirname "$0")/lib.sh"
if [[ -z "${SFTP_HARNESS:-}" ]]; then
    SFTP_HARNESS="$(cd "$ROOT" && swift build --show-bin-path)/sftp-stdio-harness"
fi
[[ -x "$SFTP_HARNESS" ]] || { fail "a harness at $SFTP_HARNESS (build: swift build --product sftp-stdio-harness)"; finish; }
command -v sftp >/dev/null || { fail "the OpenSSH sftp client is installed"; finish; }

local_dir="$T/local"    # the user's side
remote_dir="$T/remote"  # the server's working directory
mkdir "$local_dir" "$remote_dir"

# Runs one sftp batch with the server in $remote_dir; output in $T/out.
# Every run is bounded so a hung server fails the test instead of the CI job.
sftp_batch() {
    printf '%s\n' "lcd $local_dir" "$@" >"$T/batch"
    (cd "$remote_dir" && timeout 120 sftp -D "$SFTP_HARNESS" -b "$T/batch") >"$T/out" 2>&1
}

digest() { sha256sum <"$1" | cut -d' ' -f1; }
same_file() { [[ -f "$1" && -f "$2" && "$(digest "$1")" == "$(digest "$2")" ]]; }
output_has() { grep -Eq -- "$1" "$T/out"; }

head -c 50000000 /dev/urandom >"$local_dir/big.bin"

# Transfers
check "put 50 MB" sftp_batch "put big.bin up.bin"
check "put: sha256 matches" same_file "$local_dir/big.bin" "$remote_dir/up.bin"
check "get 50 MB" sftp_batch "get up.bin down.bin"
check "get: sha256 matches" same_file "$local_dir/big.bin" "$local_dir/down.bin"

# Resumed transfers: half a file on the receiving side, then reget/reput.
head -c 20000000 "$local_dir/big.bin" >"$local_dir/partial.bin"
check "reget" sftp_batch "reget up.bin partial.bin"
check "reget: sha256 matches" same_file "$local_dir/big.bin" "$local_dir/partial.bin"
head -c 20000000 "$local_dir/big.bin" >"$remote_dir/partial-up.bin"
check "reput" sftp_batch "reput big.bin partial-up.bin"
check "reput: sha256 matches" same_file "$local_dir/big.bin" "$remote_dir/partial-up.bin"

# Listing: sftp prints the server's longname as is, so check it looks like `ls -l`.
mkdir "$remote_dir/listed-dir"
check "pwd is the server's working directory" \
    bash -c 'sftp_out=$(cd "$1" && timeout 60 sftp -D "$2" -b <(echo pwd) 2>&1); grep -qF "Remote working directory: $(cd "$1" && pwd -P)" <<<"$sftp_out"' \
    _ "$remote_dir" "$SFTP_HARNESS"
check "ls -l" sftp_batch "ls -l"
check "ls -l: file longname shape" \
    output_has '^-rw-[-r][-w]-[-r][-w]-[[:space:]]+1 [0-9]+[[:space:]]+[0-9]+[[:space:]]+50000000 [A-Z][a-z]{2} [ 123][0-9] ([0-9]{2}:[0-9]{2}| [0-9]{4}) up\.bin$'
check "ls -l: directory longname shape" \
    output_has '^drwx[-r][-w]x[-r][-w]x[[:space:]]+2 [0-9]+[[:space:]]+[0-9]+[[:space:]]+[0-9]+ [A-Z][a-z]{2} [ 123][0-9] ([0-9]{2}:[0-9]{2}| [0-9]{4}) listed-dir$'

# Directories, names, permissions, links
check "mkdir" sftp_batch "mkdir newdir"
check "mkdir: directory exists" test -d "$remote_dir/newdir"
check "rename" sftp_batch "rename up.bin newdir/moved.bin"
check "rename: file moved" bash -c '[[ ! -e "$1/up.bin" && -f "$1/newdir/moved.bin" ]]' _ "$remote_dir"
check "chmod" sftp_batch "chmod 600 newdir/moved.bin"
check "chmod: mode is 600" test "$(stat -c %a "$remote_dir/newdir/moved.bin")" = 600
check "ln -s" sftp_batch "ln -s moved.bin newdir/link"
check "ln -s: link points at its target" test "$(readlink "$remote_dir/newdir/link")" = moved.bin
check "ln (hard link)" sftp_batch "ln newdir/moved.bin newdir/hard.bin"
check "ln: same inode" test "$(stat -c %i "$remote_dir/newdir/moved.bin")" = "$(stat -c %i "$remote_dir/newdir/hard.bin")"

echo "v3" >"$remote_dir/a.txt"
echo "b" >"$remote_dir/b.txt"
# `rename -l` is the protocol's own RENAME, which must not replace an existing file;
# plain `rename` uses posix-rename@openssh.com, which does.
if sftp_batch "rename -l a.txt b.txt"; then
    fail "rename -l onto an existing file is refused"
else
    check "rename -l onto an existing file is refused" test "$(cat "$remote_dir/b.txt")" = b
fi
check "rename (posix-rename) replaces" sftp_batch "rename a.txt b.txt"
check "posix-rename: content replaced" test "$(cat "$remote_dir/b.txt")" = v3

check "df" sftp_batch "df" "df -h"
check "df: sizes shown" output_has '^ *[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+%$'

check "rm" sftp_batch "rm newdir/link" "rm newdir/hard.bin" "rm newdir/moved.bin"
check "rm: files gone" test -z "$(ls -A "$remote_dir/newdir")"
check "rmdir" sftp_batch "rmdir newdir"
check "rmdir: directory gone" test ! -e "$remote_dir/newdir"

# Errors reach the user and stop the batch.
if sftp_batch "get no-such-file.bin"; then fail "get of a missing file fails"; else pass "get of a missing file fails"; fi
if sftp_batch "rmdir listed-dir/nothing"; then fail "rmdir of a missing directory fails"; else pass "rmdir of a missing directory fails"; fi
finish
