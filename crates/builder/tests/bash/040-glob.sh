# Globbing: *, ?, [...], unmatched patterns, nullglob, failglob, dotglob, nocaseglob.
mkdir -p /tmp/g && cd /tmp/g
touch a.txt b.txt c.log .hidden Data1 data2 'with space.txt'
echo *.txt
echo ?.txt
echo [ab].*
echo [!a]*.txt
echo *[0-9]
echo *.none
shopt -s nullglob
echo "nullglob: [" *.none "]"
files=(*.none)
echo "array from no match: ${#files[@]}"
shopt -u nullglob
shopt -s dotglob
echo with dotglob: *
shopt -u dotglob
shopt -s nocaseglob
echo nocase: d*
shopt -u nocaseglob
for f in *.txt; do echo "file: [$f]"; done
shopt -s failglob
echo *.none
echo "failglob status $?"
shopt -u failglob
echo "[[:upper:]]*: " [[:upper:]]*
set -f
echo "noglob: *.txt"
echo *.txt
set +f
GLOBIGNORE='*.log'
echo ignore: *
