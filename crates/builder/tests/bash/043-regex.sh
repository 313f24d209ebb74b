# [[ =~ ]]: BASH_REMATCH groups, anchors, quoted parts are literal, failures.
date_str="released 2023-04-17 at noon"
if [[ $date_str =~ ([0-9]{4})-([0-9]{2})-([0-9]{2}) ]]; then
    echo "match: ${BASH_REMATCH[0]}"
    echo "year=${BASH_REMATCH[1]} month=${BASH_REMATCH[2]} day=${BASH_REMATCH[3]}"
    echo "groups: ${#BASH_REMATCH[@]}"
fi
re='^([a-z]+)@([a-z]+)\.(com|org)$'
for addr in alice@example.com bob@site.org bad@@x.com carol@host.net; do
    if [[ $addr =~ $re ]]; then
        echo "$addr: user=${BASH_REMATCH[1]} domain=${BASH_REMATCH[2]} tld=${BASH_REMATCH[3]}"
    else
        echo "$addr: no match (${#BASH_REMATCH[@]} groups left)"
    fi
done
[[ "a.c" =~ a.c ]] && echo "unquoted dot matches a.c"
[[ "abc" =~ "a.c" ]] || echo "quoted dot does not match abc"
[[ "abc" =~ a.c ]] && echo "unquoted dot matches abc"
[[ x =~ [ ]]
echo "invalid regex status: $?"
line="key1=val1;key2=val2;key3=val3"
while [[ $line =~ ([a-z0-9]+)=([a-z0-9]+)(;|$) ]]; do
    echo "${BASH_REMATCH[1]} -> ${BASH_REMATCH[2]}"
    line=${line#*"${BASH_REMATCH[0]}"}
done
[[ "UPPER" =~ ^[[:upper:]]+$ ]] && echo "POSIX class works"
shopt -s nocasematch
[[ "HeLLo" =~ ^hello$ ]] && echo "nocasematch applies"
