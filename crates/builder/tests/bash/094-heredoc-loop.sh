# Here-documents inside loops and functions, with substitutions run per iteration.
for name in alpha beta; do
    cat <<EOF
[$name] upper=${name^^} length=${#name}
EOF
done
gen_config() {
    local host=$1 port=$2
    cat <<-CONF
	host=$host
	port=$port
	url=http://$host:$port/
	CONF
}
gen_config example.org 8080
gen_config localhost 3000 | grep url
i=0
while ((i < 3)); do
    read -r line <<EOF
iteration $i squared $((i * i))
EOF
    echo "$line"
    ((i++))
done
cat <<EOF | sort -r
$(for x in c a b; do echo "from subst $x"; done)
literal line
EOF
template='Dear NAME, you owe AMOUNT.'
while IFS=, read -r who amount; do
    msg=${template/NAME/$who}
    echo "${msg/AMOUNT/$amount}"
done <<EOF
Alice,10
Bob,20
EOF
