"""The one exception type for mistakes a user can fix (bad input, missing data, ...).

`CourseError` is a `ValueError`, so `except ValueError` still catches it. The command
line prints its message and exits with code 2 instead of showing a traceback.
"""


class CourseError(ValueError):
    """A user-fixable problem; the message says what was wrong and what to do."""


class TrainingDiverged(CourseError):
    """A loss became NaN or infinite during training."""
