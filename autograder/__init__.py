"""rnnkit's grading engine: packaging, the student proxy and its channel, grading, gradebook, reports."""
