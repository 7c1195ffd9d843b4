"""gan_course: the tested library behind the GAN course notebooks.

Modules follow the order the notebooks teach them:
seeding/device/settings (01), data (02), models (03), losses (04), steps (the step notebook 05
writes out), sampling (drawing, and the average of G's weights), history and training (the run, 05),
quality (the digit meter), visualisation, live, console/branch/console_view
(the training console), experiments (06), conditional/piles/latent/copying (07). `python -m gan_course` is
the command line.
"""

from gan_course.errors import CourseError

__version__ = "0.1.0"
__all__ = ["CourseError", "__version__"]
