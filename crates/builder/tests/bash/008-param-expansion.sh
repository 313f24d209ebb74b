# Parameter expansion: defaults, substrings, pattern removal and replacement, case.
path=/usr/local/lib/libfoo.so.1.2
echo "${path#*/}"
echo "${path##*/}"
echo "${path%.*}"
echo "${path%%.*}"
echo "${path/lib/LIB}"
echo "${path//lib/LIB}"
echo "${path/#\/usr/PREFIX}"
echo "${path/%2/TWO}"
echo "${path:5}" "${path:5:5}" "${path: -3}" "${path: -6:2}"
echo "len=${#path}"
s="Hello World"
echo "${s^^} ${s,,} ${s^} ${s~~}"
unset u; e=""
echo "[${u:-def}] [${e:-def}] [${e-def}] [${u-def}]"
echo "[${u:+alt}] [${s:+alt}] [${e+alt}]"
echo "assign: ${newvar:=assigned} now $newvar"
prefix_a=1 prefix_b=2
echo "names: ${!prefix_@}"
ref=s
echo "indirect: ${!ref}"
file=archive.tar.gz
echo "base=${file%%.*} ext=${file#*.} last=${file##*.}"
echo "${s//o/0}" "${s//[lo]/_}"
arr=(apple banana cherry)
echo "${arr[@]#?}" "${arr[@]%a*}" "${arr[@]^}"
echo "${#arr[1]}"
