# Sourced by 070-source.sh: functions, a variable, and a return from the file.
LIB_LOADED=yes
greet() {
    printf 'hello, %s\n' "${1:-nobody}"
}
add() {
    echo $(( $1 + $2 ))
}
if [[ ${1:-} == early ]]; then
    LIB_MODE=early
    return 5
fi
LIB_MODE=full
