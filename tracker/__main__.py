from tracker.cli import main

# Guarded: the worker processes of a split crawl (multiprocessing, spawn) import this module too.
if __name__ == "__main__":
    main()
