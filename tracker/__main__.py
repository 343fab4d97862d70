import gc

from tracker.cli import main

# Guarded: the worker processes of a split crawl (multiprocessing, spawn) import this module too.
if __name__ == "__main__":
    try:
        main()
    finally:
        # The command is done (its work committed, its output written; the atexit handlers, logging's
        # flush among them, still run). Frozen objects are left out of the interpreter's last garbage
        # collections, which walked the whole heap of a crawl (about 0.4 s after a full backfill); the
        # exit status is unchanged.
        gc.freeze()
