# globstar: ** across directories, **/ for directories only, with and without the option.
mkdir -p /tmp/gs/a/b/c /tmp/gs/d
touch /tmp/gs/top.txt /tmp/gs/a/one.txt /tmp/gs/a/b/two.txt /tmp/gs/a/b/c/three.txt /tmp/gs/d/four.log
cd /tmp/gs
echo "without: " **/*.txt
shopt -s globstar
echo "with: " **/*.txt
echo "dirs: " **/
echo "all: " **
echo "under a: " a/**/*.txt
count=0
for f in **/*; do [[ -f $f ]] && count=$((count + 1)); done
echo "regular files: $count"
shopt -s nullglob
echo "no match: [" **/*.none "]"
find . -name '*.txt' | sort
