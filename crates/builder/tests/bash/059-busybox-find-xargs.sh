# find and xargs: names, types, depth, -exec, -print0 with xargs -0, batches.
mkdir -p /tmp/tree/a/b /tmp/tree/c
for f in /tmp/tree/x.txt /tmp/tree/a/y.txt /tmp/tree/a/b/z.log /tmp/tree/c/w.txt "/tmp/tree/c/sp ace.txt"; do
    echo "content of ${f##*/}" > "$f"
done
cd /tmp/tree
find . -type f | sort
find . -type d | sort
find . -name '*.txt' -type f -print0 | xargs -0 wc -l | tail -n 1
find . -name '*.txt' -type f | xargs -r wc -l 2>&1 | sort
find . -maxdepth 1 | sort
find . -mindepth 2 -name '*.log'
find . -name '*.txt' -print0 | sort -z | xargs -0 cat
find . -name '*.log' -exec cat {} \;
find . -newer /corpus -name nothing
echo 1 2 3 4 5 | xargs -n 2 echo pair
printf '%s\n' a b c | xargs -I{} echo "item {}"
echo | xargs echo "empty input runs once"
xargs -r echo "never" < /dev/null
echo "xargs -r status $?"
find . -name 'z*' | xargs rm
find . -name '*.log' | wc -l
find /nonexistent 2>&1
echo "find missing status $?"
