"""gan_course: the tested library behind the GAN course notebooks.

Modules follow the order the notebooks teach them:
seeding/device (01), data (02), models (03), losses (04), training, quality,
visualisation, live (05, 06). `python -m gan_course` is the command line.
"""

from gan_course.errors import CourseError

__version__ = "0.1.0"
__all__ = ["CourseError", "__version__"]
