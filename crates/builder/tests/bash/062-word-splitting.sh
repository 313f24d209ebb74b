# Word splitting and IFS: defaults, custom IFS, empty fields, quoting, $@ vs $*.
show() { echo "$#: $(printf '<%s>' "$@")"; }
v="  one   two  three "
show $v
show "$v"
IFS=, ; csv="a,b,,d,"; show $csv; unset IFS
IFS=' :'; show $(echo "x:y z::w"); unset IFS
IFS=; show $v; unset IFS
set -- "a b" "c" ""
show "$@"
show $@
show "$*"
show $*
show "${@:2}"
empty=""
show $empty
show "$empty"
show ${empty:+"$empty"}
nl=$'line1\nline2'
show $nl
IFS=$'\n'; show $nl; unset IFS
arr=("x y" z)
show "${arr[@]}" "${arr[*]}"
IFS=-; show "${arr[*]}"; unset IFS
glob="*.none"
show $glob
