# declare -n namerefs: output parameters, arrays by name, loops over names.
set_result() {
    local -n out=$1
    out="computed by ${FUNCNAME[0]}"
}
set_result answer
echo "answer=$answer"
append() {
    local -n list=$1
    shift
    list+=("$@")
}
items=(a)
append items b c d
echo "items=${items[*]} (${#items[@]})"
sum_of() {
    local -n nums=$1
    local total=0 n
    for n in "${nums[@]}"; do total=$((total + n)); done
    echo "$total"
}
values=(10 20 30 40)
echo "sum=$(sum_of values)"
fill_map() {
    local -n m=$1
    m[one]=1
    m[two]=2
}
declare -A dict
fill_map dict
for k in $(printf '%s\n' "${!dict[@]}" | sort); do echo "$k=${dict[$k]}"; done
for name in red green; do
    declare -n ref=$name
    ref="value of $name"
    unset -n ref
done
echo "red=$red green=$green"
declare -n alias=answer
alias="changed through alias"
echo "answer=$answer"
echo "the nameref points to ${!alias}"
