"""nbval settings for the course notebooks (collected by `./course.sh test`)."""


def pytest_collectstart(collector):
    # stderr carries warnings and progress-bar fragments whose text depends on the machine;
    # everything a notebook teaches is printed to stdout or shown as a result, which nbval compares.
    if collector.path.suffix == ".ipynb":
        collector.skip_compare += ("stderr",)
