import gc

# Guarded, the CLI's import too: the worker processes of a split crawl and the match process
# (multiprocessing, spawn) import this module as well, and need none of the CLI's modules (about 0.5 s of
# CPU in each: click, every command, SQLAlchemy's ORM).
if __name__ == "__main__":
    from tracker.cli import main

    try:
        main()
    finally:
        # The command is done (its work committed, its output written; the atexit handlers, logging's
        # flush among them, still run). Frozen objects are left out of the interpreter's last garbage
        # collections, which walked the whole heap of a crawl (about 0.4 s after a full backfill); the
        # exit status is unchanged.
        gc.freeze()
