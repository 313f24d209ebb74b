# bash starting bash: -c with $0 and args, scripts with shebangs, exec, stdin scripts, SHLVL.
bash -c 'echo "\$0=$0 \$1=$1 \$#=$#"' name one two
bash -c 'echo "SHLVL in child: $SHLVL"'
cat > /tmp/child.sh <<'EOF'
#!/bin/bash
echo "child script: $0 args: $*"
exit 4
EOF
chmod +x /tmp/child.sh
/tmp/child.sh a b
echo "child status: $?"
printf '#!/bin/sh\necho "sh is bash: ${BASH_VERSION:+yes}"\n' > /tmp/sh.sh
chmod +x /tmp/sh.sh
/tmp/sh.sh
echo 'echo "script from stdin, args: $*"' | bash -s x y
bash <<'EOF'
echo "here-doc script"
for i in 1 2; do echo "  loop $i"; done
EOF
(exec bash -c 'echo "exec replaced the subshell"')
bash -c 'exec echo "exec a builtin-named program: /bin/echo"'
bash --norc -c 'shopt -q login_shell || echo "not a login shell"'
bash -c 'echo $BASH_EXECUTION_STRING'
sh -c 'echo "sh mode: POSIXLY ${POSIXLY_CORRECT-unset}, posix option $(set -o | grep -c "^posix *on")"'
bash -n /tmp/child.sh && echo "syntax check passes"
bash --version | head -n 1
