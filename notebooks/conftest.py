"""nbval settings for the course notebooks (collected by `./course.sh test`)."""


def pytest_collectstart(collector):
    # stderr carries warnings and progress-bar fragments whose text depends on the machine;
    # everything a notebook teaches is printed to stdout or shown as a result, which nbval compares.
    if collector.path.suffix == ".ipynb":
        collector.skip_compare += ("stderr",)


OUTPUT_WAIT_S = 60  # nbval's own is a fixed 5 s


def pytest_collection_modifyitems(items):
    # After a cell finishes, nbval collects its outputs and gives up when none arrives within 5 s. On a busy
    # machine (another program using the CPU) the last messages of a long training cell can take longer.
    for item in items:
        if hasattr(item, "output_timeout"):
            item.output_timeout = OUTPUT_WAIT_S
