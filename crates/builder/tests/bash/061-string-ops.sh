# String manipulation in pure bash: reverse, pad, repeat, count, split, join, trim.
reverse() {
    local s=$1 out="" i
    for ((i = ${#s} - 1; i >= 0; i--)); do out+=${s:i:1}; done
    echo "$out"
}
reverse "hello, world"
repeat() { local out; printf -v out '%*s' "$2" ''; echo "${out// /$1}"; }
repeat '=-' 10
pad_left() { printf '%*s\n' "$2" "$1"; }
pad_left 42 8
count_char() { local s=${1//[^$2]/}; echo "${#s}"; }
echo "l appears $(count_char "hello world" l) times"
s="a:b::c:"
IFS=: read -ra parts <<< "$s"
echo "split into ${#parts[@]}: $(printf '[%s]' "${parts[@]}")"
join_by() { local IFS=$1; shift; echo "$*"; }
join_by , x y z
join_by '' x y z
trim() { local v=$1; v=${v#"${v%%[![:space:]]*}"}; v=${v%"${v##*[![:space:]]}"}; echo "[$v]"; }
trim "   spaced both ends   "
str="The Quick Brown Fox"
echo "${str// /_}" "${str,,}" "${#str}"
words=($str)
echo "${#words[@]} words, initials: $(for w in "${words[@]}"; do printf '%s' "${w:0:1}"; done)"
is_palindrome() { local s=${1,,}; s=${s//[^a-z]/}; [[ $s == "$(reverse "$s")" ]]; }
for p in "A man, a plan, a canal: Panama" "not one"; do
    is_palindrome "$p" && echo "palindrome: $p" || echo "not: $p"
done
[[ "haystack with needle" == *needle* ]] && echo "substring found"
prefix="hay"; [[ "haystack" == "$prefix"* ]] && echo "prefix matches"
echo "position of 'st': $(( $(expr index haystack st) ))"
sub="haystack"; rest=${sub#*st}; echo "index via expansion: $(( ${#sub} - ${#rest} - 2 ))"
