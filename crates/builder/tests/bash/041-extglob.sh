# extglob patterns: @(), !(), +(), *(), ?() in globs, case, [[ ]] and ${var//}.
shopt -s extglob
mkdir -p /tmp/x && cd /tmp/x
touch app.js app.ts lib.js readme.md notes.txt image.png
echo @(*.js|*.ts)
echo !(*.js)
echo +([a-z]).md
echo ?(lib).js
v="aaa123bbb456"
echo "${v//+([0-9])/#}"
echo "${v//+([a-z])/}"
echo "${v##+([a-z])}"
for f in app.js readme.md image.png x.gz; do
    case $f in
        *.@(js|ts)) echo "$f: script" ;;
        *.md) echo "$f: doc" ;;
        !(*.*)) echo "$f: no ext" ;;
        *) echo "$f: other" ;;
    esac
done
[[ abcabc == +(abc) ]] && echo "+(abc) matches abcabc"
[[ abcab == +(abc) ]] || echo "+(abc) rejects abcab"
[[ "" == *(x) ]] && echo "*(x) matches empty"
trim="   padded value   "
trim="${trim##+([[:space:]])}"; trim="${trim%%+([[:space:]])}"
echo "[$trim]"
shopt extglob
