# source / . : functions and variables from a file, arguments, return from the file.
source /corpus/data/lib.sh
echo "loaded=$LIB_LOADED mode=$LIB_MODE"
greet bash
echo "add: $(add 20 22)"
unset LIB_MODE
. /corpus/data/lib.sh early
echo "return from sourced file: $? mode=$LIB_MODE"
source /nonexistent.sh
echo "missing file status $?"
printf 'echo "sourced args: $*"\nlocal_in_file=1\n' > /tmp/args.sh
source /tmp/args.sh x y
echo "variable from file: $local_in_file"
f() { source /tmp/args.sh "from function"; }
f
cd /corpus/data && source ./lib.sh && echo "relative source ok" && cd - >/dev/null
printf 'return 7\n' > /tmp/ret.sh
. /tmp/ret.sh
echo "return status $?"
echo "BASH_SOURCE in main: ${BASH_SOURCE[0]}"
printf 'echo "inside: ${BASH_SOURCE[0]} from ${BASH_SOURCE[1]}"\n' > /tmp/where.sh
source /tmp/where.sh
