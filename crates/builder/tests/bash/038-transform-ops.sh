# ${var@op} transformations: Q, E, P, A, a, U, u, L, K, and on arrays.
s="it's \"quoted\" \$here"
echo "Q: ${s@Q}"
esc='tab\tand\nnewline'
echo "E: ${esc@E}"
lower="mixed Case words"
echo "U: ${lower@U}"
echo "u: ${lower@u}"
echo "L: ${lower@L}"
declare -i num=5
declare -r ro=fixed
arr=(one "two words" three)
declare -A map=([k]=v)
echo "A: ${num@A}"
echo "A: ${ro@A}"
echo "a: ${num@a} ${ro@a} ${arr@a} ${map@a}"
echo "Q array: ${arr[@]@Q}"
echo "K map: ${map[@]@K}"
echo "K array: ${arr[@]@K}"
PS_TEST='\u in \w'
cd /tmp
echo "P: ${PS_TEST@P}"
empty=""
echo "Q empty: ${empty@Q}"
unset nothing
echo "Q unset: [${nothing@Q}]"
