# exit with a status: statuses from builtins, functions and exit in a pipeline part.
true; echo "true=$?"
false; echo "false=$?"
(exit 255); echo "255=$?"
(exit 256); echo "256 wraps=$?"
(exit -1); echo "-1=$?"
bash -c 'exit 17'; echo "child=$?"
echo hi | exit 5
echo "exit in a pipeline part does not end the shell"
f() { return 12; }
f; echo "return=$?"
exit 3
