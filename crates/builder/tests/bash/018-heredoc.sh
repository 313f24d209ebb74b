# Here-documents: expanding, quoted, tab-stripping, to functions and loops.
name=world
cat <<EOF
hello $name
sum $((2 + 3)) and $(echo subst)
escaped \$name and \`backticks\`
EOF
cat <<'EOF'
literal $name $((1 + 1)) $(echo no)
EOF
cat <<-EOF
	tabs stripped
		even two
	end
	EOF
count_lines() { wc -l; }
count_lines <<EOF
a
b
c
EOF
while read -r k v; do
    echo "$v <- $k"
done <<EOF
one 1
two 2
EOF
cat <<"END" | tr a-z A-Z
quoted delimiter, piped
END
cat <<A; cat <<B
first heredoc
A
second heredoc
B
x=$(cat <<EOF
inside command substitution
EOF
)
echo "x=$x"
cat <<EOF >/tmp/heredoc.out
to a file
EOF
cat /tmp/heredoc.out
cat <<EOF
unterminated: the script ends inside this here-document
