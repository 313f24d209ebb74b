# Commands not found (127), not executable (126), directories, and the status.
nosuchcommand --flag
echo "status $?"
/bin/nosuch
echo "status $?"
./relative-missing
echo "status $?"
printf 'echo from a script without x\n' > /tmp/noexec.sh
/tmp/noexec.sh
echo "not executable: $?"
/tmp
echo "a directory: $?"
bash /tmp/noexec.sh
echo "bash runs it anyway: $?"
chmod +x /tmp/noexec.sh
/tmp/noexec.sh
echo "after chmod: $?"
printf 'just text no shebang' > /tmp/text
chmod +x /tmp/text
out=$(/tmp/text 2>&1); echo "text file run: $? $out"
x=$(missing_in_subst 2>&1)
echo "subst: $? [$x]"
missing_last
