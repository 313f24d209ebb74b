# ${var:?message} aborts a non-interactive shell with status 1 and a message.
echo "before"
name=${1:-fallback}
echo "name=$name"
( : "${missing:?inside a subshell}" ) 
echo "subshell status $?"
value=present
echo "${value:?not printed}"
echo "${missing:?this variable is required}"
echo "not reached"
