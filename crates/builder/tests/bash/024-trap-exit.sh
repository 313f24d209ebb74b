# EXIT traps: run on exit with its status kept, see variables, trap -p, nested exit.
cleanup() {
    local status=$?
    echo "cleanup: status=$status tmp=$tmpfile"
    rm -f "$tmpfile"
    [[ -e $tmpfile ]] || echo "cleanup removed the file"
}
tmpfile=/tmp/trap-exit.tmp
: > "$tmpfile"
trap cleanup EXIT
trap -p EXIT
echo "working"
[[ -e $tmpfile ]] && echo "file exists"
f() { echo "in f"; exit 3; }
f
echo "not reached"
