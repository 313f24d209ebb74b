# Building JSON with printf and escaping, and reading key=value config into a map.
json_escape() {
    local s=$1
    s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/\\n}; s=${s//$'\t'/\\t}
    printf '"%s"' "$s"
}
to_json() {
    local -n obj=$1
    local first=1 k
    printf '{'
    for k in $(printf '%s\n' "${!obj[@]}" | sort); do
        ((first)) || printf ','
        first=0
        printf '%s:%s' "$(json_escape "$k")" "$(json_escape "${obj[$k]}")"
    done
    printf '}\n'
}
declare -A person=([name]='Ada "the first"' [lang]=$'bash\tand awk' [path]='C:\temp')
to_json person
declare -A cfg
section=""
while IFS= read -r line; do
    line=${line%%#*}
    [[ $line =~ ^[[:space:]]*$ ]] && continue
    if [[ $line =~ ^\[(.*)\]$ ]]; then section=${BASH_REMATCH[1]}; continue; fi
    if [[ $line =~ ^[[:space:]]*([a-z]+)[[:space:]]*=[[:space:]]*(.*)$ ]]; then
        v=${BASH_REMATCH[2]}; v=${v%\"}; v=${v#\"}
        cfg[$section.${BASH_REMATCH[1]}]=$v
    fi
done < /corpus/data/config.ini
to_json cfg
echo "port+1 = $(( cfg[server.port] + 1 ))"
