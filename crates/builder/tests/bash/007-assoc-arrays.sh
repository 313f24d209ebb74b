# Associative arrays: declare -A, keys with spaces, -v tests, iteration, unset.
declare -A color=([apple]=red [banana]=yellow [grape]=purple)
color[lime]=green
color["key with spaces"]="value with spaces"
echo "count=${#color[@]}"
for k in $(printf '%s\n' "${!color[@]}" | grep -v ' ' | sort); do
    echo "$k -> ${color[$k]}"
done
echo "spaced: ${color[key with spaces]}"
if [[ -v color[apple] ]]; then echo "apple is set"; fi
if [[ ! -v color[cherry] ]]; then echo "cherry is not set"; fi
unset 'color[banana]'
echo "after unset: ${#color[@]}"
declare -A count=()
for w in the cat and the dog and the bird; do
    count[$w]=$(( ${count[$w]:-0} + 1 ))
done
for k in "${!count[@]}"; do echo "$k ${count[$k]}"; done | sort
declare -A copy
for k in "${!count[@]}"; do copy[$k]=${count[$k]}; done
echo "copied ${#copy[@]} keys"
declare -p count | tr ' ' '\n' | grep -c '\]='
declare -A num=([1]=one [01]=zero-one)
echo "${num[1]} ${num[01]}"
