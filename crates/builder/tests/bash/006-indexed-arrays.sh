# Indexed arrays: literals, append, length, slices, keys, sparse, unset, copies.
arr=(zero one two three four)
echo "len=${#arr[@]} first=${arr[0]} last=${arr[-1]}"
arr+=(five six)
echo "all: ${arr[*]}"
echo "slice: ${arr[@]:2:3}"
echo "keys: ${!arr[@]}"
unset 'arr[3]'
echo "after unset: ${arr[*]} keys: ${!arr[*]}"
arr[10]=ten
echo "sparse keys: ${!arr[@]} count=${#arr[@]}"
copy=("${arr[@]}")
echo "copy keys: ${!copy[@]}"
words=("with space" "two  spaces" plain)
for w in "${words[@]}"; do echo "<$w>"; done
printf '%s|' "${words[@]}"; echo
echo "length of element 1: ${#words[1]}"
nums=(5 3 9 1 7)
max=${nums[0]}
for n in "${nums[@]}"; do (( n > max )) && max=$n; done
echo "max=$max"
echo "replaced: ${nums[@]/9/nine}"
joined=$(IFS=,; echo "${nums[*]}")
echo "joined=$joined"
declare -a empty=()
echo "empty count=${#empty[@]}"
read -ra parts <<< "alpha beta gamma"
echo "parts=${#parts[@]} ${parts[2]}"
