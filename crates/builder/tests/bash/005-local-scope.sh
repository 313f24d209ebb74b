# local variables: dynamic scoping, shadowing, local -r, unset in functions.
x=global
inner() { echo "inner sees x=$x y=${y-unset}"; }
outer() {
    local x=outer-local
    local y=only-here
    inner
    x=changed
    inner
}
outer
echo "after outer: x=$x y=${y-unset}"
setter() { local -r fixed=1; fixed=2 2>/dev/null; echo "fixed=$fixed status=$?"; }
setter
counter() {
    local -i n=0
    n+=5
    n+=10
    echo "integer local n=$n"
}
counter
shadow() {
    local x
    echo "declared but unset: [${x-none}]"
    x=temp
    unset x
    echo "after unset: [${x-none}]"
}
shadow
echo "global still x=$x"
arrfn() {
    local -a list=(a b c)
    local -A map=([k]=v)
    echo "${#list[@]} ${map[k]}"
}
arrfn
echo "list outside: [${list[*]-}]"
