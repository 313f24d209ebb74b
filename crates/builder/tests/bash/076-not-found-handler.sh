# command_not_found_handle: a function bash calls for unknown commands.
command_not_found_handle() {
    echo "handler: '$1' not found, args: ${*:2}" >&2
    return 42
}
frobnicate --all now
echo "status $?"
x=$(also-missing 2>&1)
echo "in substitution: $x"
unset -f command_not_found_handle
frobnicate
echo "default again: $?"
command_not_found_handle() { echo "suggest: try '${1%?}'"; return 127; }
lss
echo "status $?"
/bin/absolute-missing
echo "absolute paths skip the handler: $?"
