"""Helpers of the course-loop tests (tests/test_course_loop.py, tests/test_lms_route.py)."""
