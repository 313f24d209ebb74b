# Recursion: Towers of Hanoi, Ackermann (small), permutations, FUNCNAME depth.
moves=0
hanoi() {
    local n=$1 from=$2 to=$3 via=$4
    ((n == 0)) && return
    hanoi $((n - 1)) "$from" "$via" "$to"
    ((++moves <= 4)) && echo "move disk $n from $from to $to"
    hanoi $((n - 1)) "$via" "$to" "$from"
}
hanoi 5 A C B
echo "total moves: $moves"
ack() {
    local m=$1 n=$2
    if ((m == 0)); then REPLY=$((n + 1))
    elif ((n == 0)); then ack $((m - 1)) 1
    else ack $m $((n - 1)); ack $((m - 1)) $REPLY; fi
}
ack 2 2; echo "ack(2,2)=$REPLY"
permute() {
    local prefix=$1 rest=$2 i
    if [[ -z $rest ]]; then printf '%s ' "$prefix"; return; fi
    for ((i = 0; i < ${#rest}; i++)); do
        permute "$prefix${rest:i:1}" "${rest:0:i}${rest:i+1}"
    done
}
permute "" abc; echo
depth() { if (($1 > 0)); then depth $(($1 - 1)); else echo "FUNCNAME depth ${#FUNCNAME[@]}"; fi; }
depth 6
FUNCNEST=5
deep() { deep; }
deep
echo "FUNCNEST stopped it: $?"
